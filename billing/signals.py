"""Signals billing sends. Receivers live with the code that reacts (e.g. the isolation move)."""

from django.dispatch import Signal

# Sent after a plan change has committed, with sender=Plan and the keyword
# arguments tenant, old_plan, new_plan. The isolation-backends code connects a
# receiver that moves the tenant when new_plan.required_isolation asks for a
# placement the tenant does not have (see billing.subscriptions.isolation_target).
plan_changed = Signal()
