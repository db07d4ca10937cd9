"""When the cut search is unsure of a short reading, read its line whole and keep the surer reading;
when the line reader reads a one-line reading otherwise, twice alike, its reading wins.

The cut search reads most pages well, but a run of touching digits, a security background or a
separator joined to a digit leaves it unsure or empty; the line reader (sequence.py) reads the strip
without cutting. On a cropped field such as a cheque amount the cut search may also be sure and
wrong, a digit missed; the line reader then reads the line's band and the whole image alike, which
on a page, where it is weaker, two different crops seldom make it do. "The whole image" is read
around the marks found (`marked`), as the line reader learnt lines: small digits in a wide margin
shrink in its input until it reads them as fewer. The thresholds below were chosen together on the
ORAND-CAR-A selection split, the stress benchmark at seed 1 and the real-world folder, and checked
on the ORAND validation strings and the stress benchmark at seed 0, which chose nothing. Rechecked
on the tuning pages of held-out digits and the ORAND training amounts (reports/stress/
tuning_recheck.md): every threshold held, a step either side changing nothing or gaining about as
much as it lost. Since, the line reader is judged by how likely its digits are together (`joint`),
no longer by its weakest step, blank steps included, which turned down readings of amounts whose
every digit it was sure of (ORAND selection strings 74 -> 77 of 83, training amounts 713 -> 728 of
748, the stress tuning pages 1,532 -> 1,533 of 1,800 upright and 242 of 300 turned both ways).
And where the cut search leaves a mark of a one-line reading with no digit read in it, the whole
image's reading, jointly SURE likely and longer, wins alone (`fills_in`): with small digits kept on
the line of a big first one (reading_order.one_line), selection strings 77 -> 78, training amounts
728 -> 733, tuning pages 1,533 -> 1,534 upright, 241 turned and pages of marks as before.
And where the line reader reads one line's band with digits more, on the line and jointly INSERTED
likely, its reading wins alone (`inserts`): a "10" whose 1 touches the 0, a thin first 1 turned
down, a touching pair kept as one digit (tuning pages 1,534 -> 1,542 upright, none lost; on 1,000
more of them, of form boxes, shadows' edges, touching digits, underlines and grids, 809 -> 825).
"""
import cv2
import numpy as np

from handwriting.engine import sequence
from handwriting.engine.normalisation import to_mnist
from handwriting.engine.reading import Box, Digit

UNSURE = 0.9  # a reading whose digits are jointly less likely than this may be re-read whole
SURE = 0.9  # the line reader's digits, calibrated, must be jointly this likely for its reading to win
# (0.85 and 0.9 read the tuning pages and amounts alike; 0.95 and 0.97 read fewer amounts)
MAX_LINES = 2  # readings of more lines are pages, which the cut search reads better
STRIP = 2.0  # an image this many times wider than tall may be one line: its whole is read too
MARGIN_X, MARGIN_Y = 0.5, 0.2  # around the digits read, in digit heights, for the line's strip
CONFIRM_LINES = 4  # a reading of at most this many lines has each read whole too, to confirm its digits,
CONFIRM_MARGIN = 2.0  # in a band this many digit heights wider each side: a digit missed beside it shows
# TAIL was chosen on ORAND-CAR-A's training amounts and the stress benchmark at seed 1 (4,500 pages):
# the closing marks read as a last digit stood 0.34-0.78 of the line's other digits, the last digits
# of full size that the line reader dropped 0.81-1.17 (and one real 0 of an amount 0.62).
TAIL = 0.8  # a last digit shorter than this share of the others' median height may be an amount's closing mark
# KEPT_ONE, and TAIL as the 1's height, were chosen on the tuning pages (ORAND-CAR-A's 831 training amounts;
# stress seed 1, held-out digits: 1,920 upright, 150 turned, 350 of marks): 6 upright pages gained, none lost.
# Around them, none lost: KEPT_ONE 0.5 / 0.97 gained 7 / 4, a height of 0.6 / 0.9 gained 8 / 3 (without `alone`,
# 0.5 and 0.6 each lost 2 amounts); TAIL stays, the height that tells a separator or closing mark from a digit.
KEPT_ONE = 0.9  # a tall 1 the cut search read this surely, a mark of its own after a line's first digit, is a digit
# INSERTED was 0.8 until release 35, then chosen on 6,891 tuning pages (held-out digits, seeds 1 and 3,
# every upright condition and 100 a layout condition; ORAND-CAR-A's training amounts; marks): 0.7 /
# 0.6 / 0.5 / 0.4 gained 5 / 8 / 13 / 16 pages and lost 0 / 0 / 1 / 5. At 0.5 the band's calibrated
# reading is likelier right than not.
INSERTED = 0.5  # the line reader's band alone, jointly this likely, adds digits among the cut search's
# BESIDE was chosen on the stress benchmark's tuning pages (seed 1, 1,800 upright): the digits the cut
# search missed just past a line's ends (a 1 touching a 0, a thin 1 it turned down) centred within
# 0.25 digit heights of them, a form box's side or a separator the line reader read as a digit from 0.34
# (two at 0.24 and 0.27, read less surely than INSERTED).
BESIDE = 0.3  # in the line's digit heights: how far past the line's ends a digit the band alone adds may lie
# SIGN_BEFORE was chosen on the tuning pages (ORAND training amounts; stress seed 1: 1,800 upright, 300
# turned, 700 of marks): the digit model found a "$" or "€" the line reader read as a first digit
# ("€50" read "650") not one digit at 0.98-0.99. 0.8, 0.9 and 0.97 read the pages alike; without the
# cut search's check, 0.9 also dropped a real first 0 and 2 whose crops took in a box's side.
SIGN_BEFORE = 0.97  # the line reader's first digit of a line, not one digit this surely, is a sign before the number
# What the line reader says of a reading (Calibration.reading weighs its confidence by it):
AGREE = "agree"  # it reads every line as the cut search did
DISAGREE = "disagree"  # it reads some line otherwise
WHOLE = "whole"  # its own reading replaced the cut search's


def unsure(digits, probabilities=None):
    """Whether a reading is empty or too doubtful, on few enough lines to be re-read whole.
    `probabilities`: each digit's as the model gave it, before calibration, on which UNSURE was
    chosen (default: the digits' own)."""
    if not digits:
        return True
    if probabilities is None:
        probabilities = [d.probability for d in digits]
    lines = 1 + max(d.line for d in digits)
    return lines <= MAX_LINES and float(np.prod(probabilities)) < UNSURE


def joint(text):
    """How likely the line reader's digits of a strip are together; 0 where it read none."""
    return float(np.prod(text.probabilities)) if text.text else 0.0


def text_of(line):
    """The digits of a line as the cut search read them, as one string."""
    return "".join(str(d.digit) for d in line)


def by_line(digits):
    """The digits of a reading line by line, in reading order."""
    lines = {}
    for digit in digits:
        lines.setdefault(digit.line, []).append(digit)
    return [lines[k] for k in sorted(lines)]


def signs_before(digits, not_a_digit, searched, sure=SIGN_BEFORE):
    """Which of the line reader's digits to keep: the first of a line of two or more is a currency
    sign or another mark before the number when the cut search read no digit over it (`searched`:
    its digits) and the digit model, reading the line reader's crop of it, finds it not one digit
    at least `sure`ly (`not_a_digit`, one per digit). A first digit whose crop takes in a form box's
    side is not one digit either, but the cut search read it."""
    firsts = {id(min(line, key=lambda d: d.box.x)) for line in by_line(digits) if len(line) > 1}
    return [not (id(digit) in firsts and no_digit >= sure and not any(digit.box.overlap(d.box) for d in searched))
            for digit, no_digit in zip(digits, not_a_digit)]


def widened(corners, tall, shape, margin_x=MARGIN_X, margin_y=MARGIN_Y):
    """(left, top, right, bottom) around `corners` ((left, top, right, bottom) each, in the pixels
    of a grey of `shape`), `margin_x` of `tall` wider on each side and `margin_y` of it above and
    below, within the grey."""
    lefts, tops, rights, bottoms = zip(*corners)
    rows, columns = shape
    return (max(0, int(min(lefts) - margin_x * tall)), max(0, int(min(tops) - margin_y * tall)),
            min(columns, int(max(rights) + margin_x * tall)), min(rows, int(max(bottoms) + margin_y * tall)))


def band(grey, digits, to_grey, margin_x=MARGIN_X):
    """(left, top, right, bottom) in `grey`'s pixels of the band around `digits`, `margin_x` digit
    heights wider on each side, or None when it is too thin to read."""
    tall = float(np.median([d.box.height for d in digits])) * to_grey
    corners = [(d.box.x * to_grey, d.box.y * to_grey, (d.box.x + d.box.width) * to_grey,
                (d.box.y + d.box.height) * to_grey) for d in digits]
    box = widened(corners, tall, grey.shape, margin_x)
    return box if box[2] - box[0] >= 2 and box[3] - box[1] >= 2 else None


def marked(blobs, height, shape):
    """(left, top, right, bottom) of the whole image as the line reader reads it: around the marks
    the segmentation found (`blobs`, in the pixels of a grey of `shape`, `height` their typical
    height) with the band's margins, as it learnt lines cropped close to their ink: a margin it
    never saw shrinks the digits in its input until it reads them as fewer, and a form's box or a
    speck far off is no mark. The whole of it when nothing was found."""
    if not blobs:
        return 0, 0, shape[1], shape[0]
    return widened([(b.x, b.y, b.x + b.w, b.y + b.h) for b in blobs], height, shape)


def strips(grey, digits, to_grey, whole):
    """(left, top, right, bottom) in `grey`'s pixels of the strips worth reading whole: the band
    around the digits read and `whole`, the image around its marks (`marked`), when that is a strip
    itself; when nothing was read, the whole image: marks the digit model read none of say nothing
    of where digits lie."""
    left, top, right, bottom = whole
    if not digits:
        found = [(0, 0, grey.shape[1], grey.shape[0])]
    else:
        found = [band(grey, digits, to_grey)] + ([whole] if right - left >= STRIP * (bottom - top) else [])
    return [box for box in found if box is not None and box[2] - box[0] >= 2 and box[3] - box[1] >= 2]


def confirmed(text, box, digits, to_grey):
    """For each of one line's `digits`, whether the line reader, which read the strip `box` of the
    grey (`to_grey` of its pixels per original pixel) as `text`, read the same digit over it."""
    left = box[0]
    read = [((left + start) / to_grey, (left + stop) / to_grey, int(character))
            for character, (start, stop) in zip(text.text, text.spans)]
    return [any(character == d.digit and min(d.box.x + d.box.width, stop) > max(d.box.x, start)
                for start, stop, character in read) for d in digits]


def unsqueezed(box):
    """Whether the line reader sees the strip (left, top, right, bottom) at full width: a longer one
    is squeezed into its input, where digits run together and it loses some."""
    left, top, right, bottom = box
    return (right - left) * sequence.HEIGHT <= sequence.WIDTH * (bottom - top)


def concur(band_text, whole_text, line, box, to_grey):
    """Whether the line reader read one line's band (`box` of the grey, `to_grey` of its pixels
    per original pixel) and the whole image alike, and otherwise than the cut search read the
    line's digits: two crops agreeing outvote the cut search. They may add a digit it missed
    between the digits it read (a touching pair it left whole); beyond them only when they read
    more digits even without the 1s at their ends (`beyond_ones`), where a box's side or a
    separator reads as a 1; they may drop only the 1s it found before its last digit
    (`without_ones`): a CTC reader loses a lone digit set apart more readily than the cut search
    finds one that is not there, unless that one is a stroke taken for a 1, or a short mark closing
    the line (`short_tail`).
    Reading as many digits, they may read one otherwise only where the line reader is surer of its
    digit than the cut search of its own: two crops of one reader agree on its habits as well as on
    the truth. Both crops jointly at least SURE likely outvote the cut search whatever they read."""
    text, cut = band_text.text, text_of(line)
    if text != whole_text.text or text == cut:
        return False
    if min(joint(band_text), joint(whole_text)) >= SURE:
        return True
    if len(text) < len(cut):
        return without_ones(text, cut) or short_tail(text, line)
    if len(text) > len(cut):
        return between(band_text, box, line, to_grey) or beyond_ones(text, cut)
    return all(probability > digit.probability
               for character, probability, digit in zip(text, band_text.probabilities, line)
               if int(character) != digit.digit)


def inserts(text, line, box, grey, to_grey, sure=INSERTED, beside=BESIDE):
    """Whether the line reader's reading of one line's band (`box` of the `grey`), alone, wins: it
    reads the cut search's digits in order with more among them, jointly `sure` likely, every one
    within the line's extent or `beside` of its digit height past its ends (`between`), and none
    read past them whose ink runs across the band (`crosses`): a touching pair the cut search kept
    as one digit, a thin 1 it turned down. The band alone, where `concur` needs the whole image to
    agree, when what it adds lies on the line: a form box's side or a separator lies farther off,
    a box's side or a shadow's edge runs past the line's height."""
    cut = text_of(line)
    if not (len(text.text) > len(cut) and joint(text) >= sure and left_out(cut, text.text) is not None
            and between(text, box, line, to_grey, beside)):
        return False
    return not runs_across(text, box, line, grey, to_grey)


def runs_across(text, box, line, grey, to_grey):
    """Whether a digit the line reader read along one line's band (`box` of the `grey`) past the
    line's ends has ink that runs across the band (`crosses`): a form box's side or a shadow's
    edge beside the number, which the line reader reads as a 1, not a digit the cut search missed."""
    beyond = past_ends(text, box, line, to_grey)
    if not any(beyond):
        return False
    _, ink = band_ink(grey, box)
    columns = ink_columns(text.spans, box[2] - box[0])
    return any(crosses(ink, *column) for column, past in zip(columns, beyond) if past)


def fills_in(whole_text, line, blobs, to_grey):
    """Whether the line reader's reading of the whole image wins alone over the cut search's one
    line of digits (`line`): it is jointly SURE likely and reads more digits, where the cut search
    left one of the marks found (`blobs`, in the pixels of the grey, `to_grey` of them per original
    pixel) with no digit read in it, as a run of touching zeros it could not cut."""
    return (joint(whole_text) >= SURE and len(whole_text.text) > len(line)
            and any(not any(inside(blob, digit, to_grey) for digit in line) for blob in blobs))


def inside(blob, digit, to_grey):
    """Whether the centre of `digit` (boxed in the original pixels) lies in `blob`'s box."""
    x, y = (c * to_grey for c in digit.box.centre)
    return blob.x <= x <= blob.x + blob.w and blob.y <= y <= blob.y + blob.h


def without_ones(text, cut):
    """Whether `text` is `cut` with some of its 1s left out, but not its last digit: a separator, a
    stroke or a box's side that the cut search took for a digit reads as a 1, and the line reader,
    which learnt amounts whose separators are no digits, passes over it; at the line's end it also
    loses digits that are there (stress seed 1: the last digit dropped 8 times, a 1 among them)."""
    if not text or text[-1] != cut[-1]:
        return False
    skipped = left_out(text[:-1], cut[:-1])
    return skipped is not None and all(cut[index] == "1" for index in skipped)


def left_out(text, cut):
    """The indices of the characters of `cut` that `text` passes over when it reads them in order
    (matched greedily), or None when it does not read them in order: the line reader may leave out
    some of the cut search's digits, and whether it may depends on which."""
    skipped, kept = [], 0
    for index, character in enumerate(cut):
        if kept < len(text) and character == text[kept]:
            kept += 1
        else:
            skipped.append(index)
    return skipped if kept == len(text) else None


def drops_a_one(text, digits, blobs, to_grey, tail=TAIL, sure=KEPT_ONE):
    """Whether `text` reads the digits of one line in order but leaves out a 1 that the cut search
    read at least `sure`ly, after the line's first digit, at least `tail` of the other digits'
    median height, and as a mark of its own (`alone`). A separator or an amount's closing mark
    stands shorter, a box's side or a sign comes first, a sliver of a digit the cut search split
    shares its mark; such a 1 is a digit, and a CTC reader passes over a thin stroke beside wide
    ones (stress seed 1: 8 of the 15 upright pages that lost a lone 1)."""
    if len({digit.line for digit in digits}) != 1 or len(text) >= len(digits):
        return False
    skipped = left_out(text, text_of(digits))
    if skipped is None:
        return False
    passed_over = [digits[index] for index in skipped]

    def tall(one):
        return one.box.height >= tail * float(np.median([d.box.height for d in digits if d is not one]))

    return any(d.digit == 1 and d is not digits[0] and d.probability >= sure and tall(d)
               and alone(d, digits, blobs, to_grey) for d in passed_over)


def alone(digit, digits, blobs, to_grey):
    """Whether `digit` is a mark of its own: no other of `digits` centres in a mark (`blobs`, in the
    pixels of the grey, `to_grey` of them per original pixel) that holds its centre, as the pieces
    the cut search made of one mark do."""
    holding = [blob for blob in blobs if inside(blob, digit, to_grey)]
    return not any(inside(blob, other, to_grey) for blob in holding for other in digits if other is not digit)


def short_tail(text, line, tail=TAIL):
    """Whether `text` is the line's digits without its last, and that one stands shorter than `tail`
    of the others' median height: the "-", "=", "/" or "," closing a cheque's amount, which the cut
    search reads as a digit and the line reader, which learnt amounts, passes over. A last digit of
    full height that the line reader drops is more often there."""
    if len(line) < 2 or text != text_of(line[:-1]):
        return False
    return line[-1].box.height < tail * float(np.median([digit.box.height for digit in line[:-1]]))


def beyond_ones(text, cut):
    """Whether `text` holds more digits than `cut` even without the 1s at its ends: a box's side or
    a separator beside the digits reads as a 1 there, but the digits the cut search missed beyond
    its first or last (a run of zeros it kept as one mark, an amount's tail) read as themselves.
    Logged on stress seed 1 and ORAND-CAR-A's selection strings: one page gained in each, none
    lost, where taking any longer reading lost 10 stress pages for 3, mostly to a form box's sides."""
    return len(text.strip("1")) > len(cut)


def centres(text, box, to_grey):
    """The centre of each digit the line reader read along the strip `box`, in the original pixels."""
    return [(box[0] + (start + stop) / 2) / to_grey for start, stop in text.spans]


def extent(line, beside=0.0):
    """(left, right) of a line's digits in the original image's pixels: the left of its first digit
    and the right of its last, each `beside` of the line's median digit height farther out."""
    past = beside * float(np.median([d.box.height for d in line]))
    return min(d.box.x for d in line) - past, max(d.box.x + d.box.width for d in line) + past


def between(text, box, line, to_grey, beside=0.0):
    """Whether every digit the line reader read along the strip `box` centres within the line's
    `extent`, widened by `beside`."""
    left, right = extent(line, beside)
    return all(left <= centre <= right for centre in centres(text, box, to_grey))


def past_ends(text, box, line, to_grey):
    """For each digit the line reader read along the strip `box`, whether it centres outside the
    line's `extent`."""
    left, right = extent(line)
    return [not left <= centre <= right for centre in centres(text, box, to_grey)]


def crosses(ink, left, right):
    """Whether the ink between columns `left` and `right` of a strip's ink mask reaches both its
    first and last rows (or there is none): the band reaches past the line's digits above and
    below, and a border's side or a shadow's edge runs on past it where a digit ends."""
    _, top, _, bottom = ink_box(ink, left, right)
    return top == 0 and bottom == ink.shape[0]


def fewest(digits):
    """The fewest digits the line reader may read in place of `digits`: a reading on several lines
    is read whole as one strip, where the line reader, made for one line, reads the lines over each
    other as fewer digits than the longest line holds; on one line it may drop digits, which are
    often a separator or a border's piece read as a 1."""
    lines = by_line(digits)
    return max(map(len, lines)) if len(lines) > 1 else 0


def best(texts, boxes, shortest=0, cut=""):
    """The likeliest line reading (`joint`) that reaches SURE and reads at least `shortest` digits,
    with its strip; or None. When one of the line reader's crops reads `cut`, the cut search's text,
    only a reading of it may win: the cut search and one crop agreeing outvote the other crop."""
    agreeing = bool(cut) and any(text.text == cut for text in texts)
    readable = [(text, box) for text, box in zip(texts, boxes)
                if len(text.text) >= max(shortest, 1) and joint(text) >= SURE
                and (text.text == cut or not agreeing)]
    return max(readable, key=lambda pair: joint(pair[0]), default=None)


def ink_columns(spans, width):
    """(left, right) of the columns that belong to each digit read along a strip `width` wide: the
    line reader's frames are a few pixels wide at the digit's centre, so each digit owns the
    columns halfway to its neighbours' centres, and the ends of the strip."""
    centres = [(start + stop) / 2 for start, stop in spans]
    edges = [0.0] + [(a + b) / 2 for a, b in zip(centres, centres[1:])] + [float(width)]
    return [(int(round(a)), max(int(round(b)), int(round(a)) + 1)) for a, b in zip(edges, edges[1:])]


def ink_box(ink, left, right):
    """(x0, y0, x1, y1) of the ink between columns `left` and `right` of a strip's ink mask, or of
    the whole column band when it holds none."""
    ys, xs = np.nonzero(ink[:, left:right])
    if not len(xs):
        return left, 0, right, ink.shape[0]
    return left + int(xs.min()), int(ys.min()), left + int(xs.max()) + 1, int(ys.max()) + 1


def band_ink(grey, box):
    """(strength, ink) of the strip `box` (left, top, right, bottom) of the grey (ink dark): the
    ink's strength, and the ink itself by Otsu's level of it."""
    left, top, right, bottom = box
    strength = 255 - grey[top:bottom, left:right]
    level, _ = cv2.threshold(strength, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return strength, strength > level


def as_digits(text, box, grey, to_grey):
    """The line reader's digits as Digits on one line, each boxed by its own ink in the original
    image's pixels, so that the gaps between numbers show as they were written."""
    left, top, right, bottom = box
    strength, ink = band_ink(grey, box)
    digits = []
    columns = ink_columns(text.spans, right - left)
    for character, (start, stop), probability in zip(text.text, columns, text.probabilities):
        x0, y0, x1, y1 = ink_box(ink, start, stop)
        crop = to_mnist(np.where(ink[y0:y1, x0:x1], strength[y0:y1, x0:x1], 0).astype(np.uint8))
        box_original = Box(round((left + x0) / to_grey), round((top + y0) / to_grey),
                           max(1, round((x1 - x0) / to_grey)), max(1, round((y1 - y0) / to_grey)))
        digits.append(Digit(int(character), probability, (), box_original, 0, crop))
    return tuple(digits)
