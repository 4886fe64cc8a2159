"""The reviewer queue (issue 9): a practice's coder approves, rejects, edits or adds charge lines.

    decisions.py  decide(ctx, line_key=..., action=..., actor=..., expected_version=...), approve_case(...)
    checks.py     reject_reasons(settings), the code-table checks of an edit (mappings/<year>/review.yaml)
    sync.py       after_recompute: the pipeline's recomputation updates the queue (a changed decided line returns)
    queue.py      the queue's listing (filters, counts, keyset pages), a case's view, the audit log
    metrics.py    acceptance per rule and code, edits per rule, time to review, suggestions per day
Tables: plugin/store/review.py. Errors: Conflict, DecisionRefused (plugin/errors.py).
"""
from plugin.review.checks import reject_reasons
from plugin.review.decisions import Decision, approve_case, decide

__all__ = ["Decision", "approve_case", "decide", "reject_reasons"]
