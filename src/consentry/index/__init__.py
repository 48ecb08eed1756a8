"""In-memory suppression index: opted-out numbers in roaring bitmaps per tenant and scope.

``SuppressionIndex`` holds the bitmaps; :mod:`consentry.index.snapshot` writes and reads them;
:mod:`consentry.index.loading` builds one from the store and catches it up from the opt-out change
log; :mod:`consentry.index.follower` keeps one in step with the log in a background thread.
The service hands out a caught-up index with ``Consentry.suppression_index(tenant)``.
"""

from consentry.index.changes import Change, key_number, number_key
from consentry.index.suppression import SuppressionIndex

__all__ = ["Change", "SuppressionIndex", "key_number", "number_key"]
