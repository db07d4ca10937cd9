"""The touching-digit search on tiny hand-made blobs, with hand-made probabilities instead of the
model: `candidates` lists every piece's crop, `choose` keeps the reading whose probabilities win."""
import numpy as np

from handwriting.engine import cutting
from handwriting.engine.blobs import Blob
from handwriting.engine.model_io import CLASSES, NOT_A_DIGIT

HEIGHT = 40  # the typical digit height of every page here


def answer(digit=None, sure=0.95):
    """Probabilities over the eleven classes: `digit` at `sure`, or "not one digit" when None."""
    probabilities = np.full(len(CLASSES), (1 - sure) / (len(CLASSES) - 1), np.float32)
    probabilities[NOT_A_DIGIT if digit is None else digit] = sure
    return probabilities


def two_touching():
    """Two solid digits 36 px wide and 40 tall, joined by a thin bridge half-way up: one blob."""
    mask = np.zeros((HEIGHT, 84), np.uint8)
    mask[:, 2:38] = 255
    mask[:, 46:82] = 255
    mask[18:22, 38:46] = 255
    return Blob(0, 0, 84, HEIGHT, mask)


def model(rules):
    """A stand-in for the model: for each piece, the answer of the first rule its box matches."""
    def read(pieces):
        return np.stack([next(a for matches, a in rules if matches(piece.box)) for piece in pieces])

    return read


def pieces(lines):
    return [piece for line in lines for piece in line.pieces()]


def test_the_cut_between_two_touching_digits_wins():
    """Read whole, the blob is "not one digit"; the pieces left and right of the bridge are a sure 4
    and a sure 7; any other piece is unsure: the best plan is the one cut at the bridge."""
    lines = cutting.plan([[two_touching()]], HEIGHT)
    crops = cutting.candidates(lines)
    assert crops.shape == (len(pieces(lines)), 28, 28) and crops.dtype == np.uint8
    read = model([
        (lambda box: box[0] <= 2 and box[2] >= 80, answer(None)),
        (lambda box: box[0] <= 2 and 34 <= box[2] <= 44, answer(4)),
        (lambda box: 38 <= box[0] <= 46 and box[0] + box[2] >= 81, answer(7)),
        (lambda box: True, answer(1, sure=0.2)),
    ])
    (chosen,) = cutting.choose(lines, read(pieces(lines)))
    assert [int(probabilities[:10].argmax()) for _, probabilities in chosen] == [4, 7]
    left, right = (piece.box for piece, _ in chosen)
    assert left[0] == 2 and right[0] + right[2] == 82
    assert 38 <= left[0] + left[2] <= 46 and 38 <= right[0] <= 46


def test_a_sure_whole_digit_stays_whole():
    """A blob no wider than one digit that the model reads surely is never cut, however sure the
    halves look."""
    mask = np.zeros((HEIGHT, 46), np.uint8)
    mask[:, 2:20] = 255
    mask[:, 26:44] = 255
    mask[:4, 20:26] = 255
    lines = cutting.plan([[Blob(0, 0, 46, HEIGHT, mask)]], HEIGHT)
    read = model([(lambda box: box[2] >= 40, answer(0, sure=0.9)), (lambda box: True, answer(1, sure=0.99))])
    (chosen,) = cutting.choose(lines, read(pieces(lines)))
    assert [piece.box for piece, _ in chosen] == [(2, 0, 42, HEIGHT)]


def test_two_narrow_neighbours_are_read_as_one_digit_when_that_reads_better():
    """The two sides of a 0 whose top and bottom were lost: alone each is an unsure 1, together a
    sure 0, so the line reads one digit."""
    side = np.full((HEIGHT, 6), 255, np.uint8)
    blobs = [Blob(0, 0, 6, HEIGHT, side), Blob(16, 0, 6, HEIGHT, side)]
    lines = cutting.plan([blobs], HEIGHT)
    read = model([(lambda box: box[2] >= 20, answer(0, sure=0.99)), (lambda box: True, answer(1, sure=0.6))])
    (chosen,) = cutting.choose(lines, read(pieces(lines)))
    assert [(piece.box, int(p[:10].argmax())) for piece, p in chosen] == [((0, 0, 22, HEIGHT), 0)]


def test_two_tall_neighbours_each_a_sure_digit_stay_two_however_surely_read_as_one():
    """Two 1s side by side read together as a sure 1: each alone is a sure 1 as tall as a digit,
    so the line reads two. Shortened to half the digit height, the second is a stroke of one."""
    side = np.full((HEIGHT, 6), 255, np.uint8)
    for tall, expected in ((HEIGHT, [1, 1]), (HEIGHT // 2, [1])):
        blobs = [Blob(0, 0, 6, HEIGHT, side), Blob(16, 0, 6, tall, side[:tall])]
        lines = cutting.plan([blobs], HEIGHT)
        read = model([(lambda box: box[2] >= 20, answer(1, sure=0.99)), (lambda box: True, answer(1, sure=0.97))])
        (chosen,) = cutting.choose(lines, read(pieces(lines)))
        assert [int(p[:10].argmax()) for _, p in chosen] == expected


def test_a_blob_too_narrow_for_two_digits_has_no_cut_and_one_crop():
    mask = np.full((HEIGHT, 20), 255, np.uint8)
    blob = Blob(5, 7, 20, HEIGHT, mask)
    assert cutting.cut_candidates(blob, HEIGHT) == []
    lines = cutting.plan([[blob]], HEIGHT)
    assert len(cutting.candidates(lines)) == 1
    (chosen,) = cutting.choose(lines, np.stack([answer(1)]))
    assert [piece.box for piece, _ in chosen] == [(5, 7, 20, HEIGHT)]


def test_no_digit_needs_the_whole_read_as_not_one_digit_and_an_unsure_piece():
    sign = [answer(1, sure=0.95), answer(8, sure=0.4)]
    assert cutting.no_digit(answer(None, sure=0.95), sign)
    assert not cutting.no_digit(answer(None, sure=0.95), [answer(0, sure=0.99), answer(0, sure=0.9)])
    assert not cutting.no_digit(answer(None, sure=0.6), sign)
    assert not cutting.no_digit(answer(None, sure=0.95), sign[1:])


def two_strokes(x):
    """Two bars joined at the top, one digit wide: a $ or a 0, as the cut search sees either."""
    mask = np.zeros((HEIGHT, 46), np.uint8)
    mask[:, 2:20] = 255
    mask[:, 26:44] = 255
    mask[:4, 20:26] = 255
    return Blob(x, 0, 46, HEIGHT, mask)


def digit(x):
    return Blob(x, 0, 24, HEIGHT, np.full((HEIGHT, 24), 255, np.uint8))


def sign_model():
    """The two bars read whole as "not one digit", cut between them as a sure 1 and an unsure 8,
    cut elsewhere as nothing much; a digit is a 5."""
    return model([
        (lambda box: box[2] >= 40, answer(None, sure=0.97)),
        (lambda box: box[2] == 24 and box[0] % 100 == 0, answer(5, sure=0.99)),
        (lambda box: box[0] % 100 == 2 and box[2] <= 24, answer(1, sure=0.95)),
        (lambda box: box[0] % 100 >= 18 and (box[0] + box[2]) % 100 >= 43, answer(8, sure=0.45)),
        (lambda box: True, answer(7, sure=0.1)),
    ])


def test_a_sign_before_a_number_read_whole_as_not_one_digit_and_cut_unsurely_holds_no_digit():
    lines = cutting.plan([[two_strokes(0), digit(100), digit(200)]], HEIGHT)
    (chosen,) = cutting.choose(lines, sign_model()(pieces(lines)))
    assert [(piece.box[0], int(p[:10].argmax())) for piece, p in chosen] == [(100, 5), (200, 5)]


def test_the_same_marks_alone_on_a_line_or_after_its_first_digit_keep_their_cut():
    """Only a line's first mark, before others, is a sign: alone it may be all the page holds."""
    for blobs in ([two_strokes(0)], [digit(0), two_strokes(100)]):
        lines = cutting.plan([blobs], HEIGHT)
        (chosen,) = cutting.choose(lines, sign_model()(pieces(lines)))
        assert [int(p[:10].argmax()) for _, p in chosen][-2:] == [1, 8]
