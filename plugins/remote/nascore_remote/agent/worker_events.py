"""What a trial's worker may write on its event pipe. The trial's code runs inside the worker and can reach the
pipe (its descriptor number is on the worker's command line, and a forked child inherits it), so a line there
may be garbage: every line is checked before the daemon acts on it or relays it to the client (whose reader
would fail on it too). A bad line is its trial's fault alone: the daemon fails that trial with a reason quoting
the line and kills its worker, whose pipe can no longer be trusted (see ``TrialRunner.bad_line``)."""
from .wire import decode, quote

MAX_LINE = 16 << 20  # bytes of one line: more is no event (the agent would hold all of it in memory)
KINDS = ("intermediate", "final")
END_STATUSES = ("trained", "failed", "interrupted")  # what nascore.training_service.run_trial ends a trial with


class BadWorkerLine(ValueError):
    """A line on a worker's event pipe that is no event of its trial; its text names the trial and quotes it."""


def _bad(line, trial_id, why):
    who = "trial %s" % trial_id if trial_id is not None else "an idle worker"
    return BadWorkerLine("%s wrote a malformed line on its event pipe (%s): %s" % (who, why, quote(line)))


def check_unfinished(buffer, trial_id):
    """Raise :class:`BadWorkerLine` when the unfinished line ``buffer`` is already longer than :data:`MAX_LINE`."""
    if len(buffer) > MAX_LINE:
        raise _bad(buffer, trial_id, "no end of line after %d bytes" % MAX_LINE)


def parse_worker_event(line, trial_id):
    """The event in ``line`` (bytes), checked to be a metric or end of ``trial_id`` (the worker's current trial,
    None between trials); raises :class:`BadWorkerLine`."""
    def bad(why):
        return _bad(line, trial_id, why)
    if trial_id is None:  # no trial runs there: a line is a leftover of an ended one (a thread it left, say)
        raise bad("no trial runs there")
    try:
        event = decode(line)
    except ValueError as exc:
        raise bad("not JSON: %s" % exc) from None
    if not isinstance(event, dict):
        raise bad("not a JSON object")
    if event.get("trial_id") != trial_id:
        raise bad("an event of trial %r" % (event.get("trial_id"),))
    kind = event.get("event")
    if kind == "metric":
        if event.get("kind") not in KINDS or "metric" not in event:
            raise bad("a metric needs 'kind' (%s) and 'metric'" % " or ".join(KINDS))
    elif kind == "end":
        if event.get("status") not in END_STATUSES or not isinstance(event.get("reason"), (str, type(None))):
            raise bad("an end needs 'status' (%s) and a text or null 'reason'" % ", ".join(END_STATUSES))
    else:
        raise bad("unknown event %r" % (kind,))
    return event
