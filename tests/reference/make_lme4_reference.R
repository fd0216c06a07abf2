# Reference numbers for tests/bayes/test_lme4_reference.py (run once; the test itself needs no R).
#
#   apt-get install -y r-base-core r-cran-lme4 r-cran-mlmrev
#   Rscript tests/reference/make_lme4_reference.R
#
# Data: Contraception from mlmRev (Bangladesh Fertility Survey 1989: 1,934 women in 60 districts,
# contraceptive use yes/no). The classic glmer example: random intercept per district.
suppressPackageStartupMessages({library(lme4); library(mlmRev)})
out <- "tests/reference"
d <- droplevels(Contraception)
d$use01 <- as.integer(d$use == "Y")
d$urban01 <- as.integer(d$urban == "Y")
d$district <- as.character(d$district)
write.csv(d[, c("woman", "district", "use01", "livch", "age", "urban01")], file.path(out, "contraception.csv"),
          row.names = FALSE)

fit <- glmer(use01 ~ age + I(age^2) + urban01 + livch + (1 | district), data = d, family = binomial,
             control = glmerControl(optimizer = "bobyqa"), nAGQ = 1)
re <- ranef(fit, condVar = TRUE)$district
pv <- attr(re, "postVar")
modes <- data.frame(district = rownames(re), mode = re[, 1], cond_sd = sqrt(pv[1, 1, ]))
write.csv(modes, file.path(out, "contraception_lme4_modes.csv"), row.names = FALSE)
fe <- fixef(fit)
sd_district <- as.numeric(attr(VarCorr(fit)$district, "stddev"))
json <- sprintf(paste0('{\n  "model": "glmer(use01 ~ age + I(age^2) + urban01 + livch + (1 | district), binomial, Laplace)",\n',
                       '  "lme4_version": "%s",\n  "R_version": "%s",\n  "sd_district": %.10f,\n',
                       '  "logLik": %.6f,\n  "n_obs": %d,\n  "n_districts": %d,\n  "fixef": {%s}\n}\n'),
                as.character(packageVersion("lme4")), paste(R.version$major, R.version$minor, sep = "."),
                sd_district, as.numeric(logLik(fit)), nrow(d), nlevels(factor(d$district)),
                paste(sprintf('"%s": %.10f', names(fe), fe), collapse = ", "))
writeLines(json, file.path(out, "contraception_lme4.json"), sep = "")
print(summary(fit))
