"""The bounds of one read: a deadline checked between steps and a count of the crops made, so that
no image, however it is drawn, costs more than the settings allow.

The deadline is in CPU seconds of the reading thread, not wall time: on a shared machine a read
waits for the cores as long as others keep them, and that is no reason to refuse it. The model's
calls run on TensorFlow's threads and are bounded apart, by the crops and the chunks."""
import time


class TooComplex(Exception):
    """A read that would take more work than allowed; `code` is the API's, the message for people."""

    code = "too_complex"


class Budget:
    """The time and crops left to one read, made in the thread that reads. `check` raises
    TooComplex once the time is spent; `take` hands out crops until none are left; `cut_short`
    names every limit that dropped work, for the answer to say so."""

    def __init__(self, seconds, crops):
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds
        self.crops = crops
        self.cut_short = set()

    def check(self, step):
        if time.thread_time() > self.deadline:
            raise TooComplex(f"the image takes more than {self.seconds:g} s of CPU to read ({step}); send fewer, clearer digits")

    def take(self, count):
        """Whether `count` more crops fit; they are counted when they do."""
        if count > self.crops:
            return False
        self.crops -= count
        return True
