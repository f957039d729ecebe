# exercise: ex01
# why: loop forever, ignoring every interrupt, both in a cell and in the function the checks call
def format_sse(data, event=None, id=None, retry=None):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass


while True:
    try:
        while True:
            pass
    except BaseException:
        pass
