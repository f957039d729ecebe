# exercise: ex01
# why: replace the checker with one that always passes (the forgery that worked when checks shared the student's process)
import lesson_app.grading.core as _core
import lesson_app.grading.runner as _r

_r.run_check = lambda check, sub, on_abandon=None: _core._result(check, True, "", 0.0)
_core.run_check = _r.run_check
