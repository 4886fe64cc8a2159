"""Every table of the store on one metadata: the core tables (models.py) and each feature's own module.

Alembic (migrations/env.py) and the Store's checks read `Base.metadata` from here, so a feature's tables are
registered by one import line below, and models.py imports none of them (imports point down).
"""
from plugin.store.models import Base  # noqa: F401
from plugin.store import latency  # noqa: F401  (issue 11: the webhook -> ChargeItem latency histogram)
from plugin.store import scanner as _scanner  # noqa: F401  (issue 8: scanner_files)
from plugin.store import reconcile as _reconcile  # noqa: F401  (issue 8: reconcile_state)
from plugin.store import refs as _refs  # noqa: F401  (the cross-patient context index: its table joins the metadata)
from plugin.store import review as _review  # noqa: F401  (issue 9: the reviewer queue's tables)
from plugin.store import cds as _cds  # noqa: F401  (issue 10: CDS Hooks jti and card tables)
from plugin.store import auth as _auth  # noqa: F401  (issue 9: sign-in tables)
