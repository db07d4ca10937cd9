"""A sheet's or a table's edge that the photo's frame cuts, read as a tall 1.

A photo of a sheet lying on a table shows the sheet's side, the table's edge or a shadow's line
running out of the frame; what is left of it, a straight stroke, reads as a 1, on a line of its own
or set apart from the number. It stands taller than the digits and touches the frame, where the
digits, small in such a photo, lie well inside it. A tight crop (a cheque's amount, a cropped photo)
may cut its own first or last 1, which may stand tall too; but there the digits fill the frame. And
a 1 of the number whose box took in texture or a board's edge running to the frame stands among
its digits, as writing does.

Chosen on the tuning pages (held-out digits: 200 `light_on_table` pages at seeds 1 and 3; the
1,920 upright and 150 turned at seed 1, 350 pages of marks; ORAND-CAR-A's 831 training amounts).
The 9 edges read there stand 1.4-2.4 times the digits' height, alone on their lines or 1.2-1.4
digit heights from the nearest digit, the digits at 0.10-0.20 of the shorter side; of the 1,583
other 1s read, 99 % stand within 0.49 of a digit height from their nearest digit, 2 beyond APART.
TALL 1.1-1.3, FILL 0.25-0.5 and APART 0.8-1.2 drop those 9 edges, mending 7 pages, and no digit;
TALL 1.5 or FILL 0.2 mend a page fewer. Without APART, FILL 0.4 dropped three training amounts'
tall 1s at their crop's border, and the stress benchmark (seeds 0 and 1) two 1s whose boxes took
in a texture's streak or a board's edge running to the frame, 0.26 and 0.15 digit heights from
their neighbours: APART came after the benchmark, its value from the tuning pages.
"""
import numpy as np

from handwriting.engine.blobs import cut_by_border

TALL = 1.3  # a 1 this many times taller than the median of the reading's other digits ...
FILL = 0.3  # ... which stand under this share of the image's shorter side ...
APART = 1.0  # ... alone on its line or this many of their heights from its nearest digit there, and cut by the frame,
# is an edge, not a digit (blobs.cut_by_border: its box reaches the image's border)


def _apart(index, boxes, lines, typical, apart):
    """Whether digit `index` is alone on its line or `apart` typical heights from its nearest neighbour there."""
    x, _, w, _ = boxes[index]
    gaps = [max(bx - (x + w), x - (bx + bw), 0) for i, (bx, _, bw, _) in enumerate(boxes)
            if i != index and lines[i] == lines[index]]
    return not gaps or min(gaps) >= apart * typical


def cut_by_frame(boxes, digits, lines, width, height, tall=TALL, fill=FILL, apart=APART):
    """Whether each digit of a reading (boxes (x, y, w, h) in the pixels of the width x height image
    it was read in, the digits read and their line numbers) is an edge the frame cut, not a digit."""
    heights = np.array([box[3] for box in boxes], float)
    edge = np.zeros(len(boxes), bool)
    for index, ((x, y, w, h), digit) in enumerate(zip(boxes, digits)):
        others = np.delete(heights, index)
        if digit != 1 or not len(others):
            continue
        typical = float(np.median(others))
        edge[index] = (cut_by_border(x, y, w, h, (height, width)) and h >= tall * typical
                       and typical < fill * min(width, height) and _apart(index, boxes, lines, typical, apart))
    return edge
