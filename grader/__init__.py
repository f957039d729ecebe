"""The instructor's grader: hidden checks, the sandbox that runs student code, and the reports.

Not part of what students get (see ``sse-lesson release``). Student code runs in a
sandboxed process (``grader.sandbox``); the checks, and every verdict, stay in the
grader's own process, which only ever receives JSON from the sandbox.
"""
