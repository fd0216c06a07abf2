"""Published ratings as history: a department's last publication read as the previous release.

- :func:`~toolkit.published.read.read_publication`: a DES Star Ratings publication (``.xlsx`` or
  ``.csv``, the department's sheet and column names) into rows and per-release cells;
- :func:`~toolkit.published.history.previous_ratings`: one release of it as the previous-ratings
  table of the publishing rules (``toolkit release --previous``, ``toolkit score --previous``);
- ``toolkit published import FILE --release "March 2020" --out DIR`` writes that table and a note.
"""

from toolkit.published.history import PreviousRatings, load_format, previous_ratings
from toolkit.published.read import Publication, read_publication

__all__ = ["PreviousRatings", "Publication", "load_format", "previous_ratings", "read_publication"]
