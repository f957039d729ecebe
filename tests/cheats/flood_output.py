# exercise: ex01
# why: flood stdout and stderr until the cell's time runs out
import sys

chunk = "x" * (1 << 20)
while True:
    sys.stdout.write(chunk)
    sys.stderr.write(chunk)
