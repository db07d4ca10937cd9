"""The reading engine: bytes in, a Reading out. Holds the one piece of state, the loaded model."""
import copy
import dataclasses
import math
import threading
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

import numpy as np

from handwriting import config
from handwriting.engine import (calibration, cutting, decoding, model_io, orientation, runtime, sheet_edges,
                                short_marks, whole_lines)
from handwriting.engine.limits import Budget, TooComplex
from handwriting.engine.reading import Box, Digit, Reading
from handwriting.engine.reading_order import keep_first
from handwriting.engine.segmentation import Segmentation, segment
from handwriting.engine.sequence import LineReader


class Recognizer:
    """Loads the model once and reads any number of images, each within the settings' limits."""

    def __init__(self, model_path=None, settings=None, lines=None, turns=None):
        """`lines`, `turns`: a LineReader and a turn judge already loaded, shared by every model a
        server holds; by default the settings' line model and turn judge are loaded, when their
        files exist."""
        self.settings = settings or config.settings()
        self.path = Path(model_path or self.settings.model_path)
        self.model = runtime.load_model(self.path, self.settings.inference_threads)
        self._infer = self.model.predict
        self.meta = model_io.metadata(self.path)
        self.name = self.meta.get("name", self.path.stem)
        self.version = self.meta.get("date", "unknown")
        self.calibration = calibration.Calibration.of(self.meta)
        self._gradcam = None
        self._gradcam_lock = threading.Lock()
        line_model = Path(self.settings.line_model_path)
        self.lines = lines or (LineReader(line_model, self.settings.inference_threads) if line_model.is_file() else None)
        turn_model = Path(self.settings.turn_model_path)
        self.turns = turns or (runtime.load_model(turn_model, self.settings.inference_threads)
                               if turn_model.is_file() else None)

    def classify(self, crops, budget=None):
        """The model's probabilities (N, 11) for uint8 crops (N, 28, 28), in compiled calls of at
        most classify_chunk crops, whose activations stay bounded; `budget`'s deadline is checked
        before each."""
        chunk = max(1, self.settings.classify_chunk)
        parts = [np.zeros((0, len(model_io.CLASSES)), np.float32)]
        for start in range(0, len(crops), chunk):
            if budget is not None:
                budget.check("classifying the crops")
            parts.append(self._infer(model_io.to_batch(crops[start: start + chunk])))
        return np.concatenate(parts)

    def explainer(self):
        """The model's Grad-CAM, built on first use; raises explain.NotExplainable for a model
        without convolutions, so that a caller can refuse before reading anything."""
        from handwriting.engine.explain import GradCam

        with self._gradcam_lock:
            if self._gradcam is None:
                self._gradcam = GradCam(self.path, self.settings.inference_threads,
                                        self.model.metadata.get(model_io.NOT_EXPLAINABLE))
        return self._gradcam

    def explain(self, digits):
        """Grad-CAM heatmaps (N, 28, 28) for the digits of a Reading, each for the digit read."""
        return self.explainer()(np.array([d.crop for d in digits]), [d.digit for d in digits])

    def warm(self):
        self.classify(np.zeros((2, *model_io.INPUT_SHAPE[:2]), np.uint8))

    def budget(self, seconds=math.inf):
        """What one read may take: `seconds` from now (the service passes time_budget_s; the
        command line and the benchmarks have no deadline) and the settings' max_crops."""
        return Budget(seconds, self.settings.max_crops)

    def read(self, data, min_confidence=0.0, seconds=math.inf):
        """Decode, segment and classify within `seconds`; raises decoding.DecodeError for what is
        not a usable image, limits.TooComplex for what would take longer."""
        budget = self.budget(seconds)
        return self.read_decoded(self.decode(data), min_confidence, budget)

    def decode(self, data):
        """The image bytes decoded within the settings' limits, reduced towards the working side."""
        return decoding.decode(data, self.settings.max_pixels, self.settings.working_side, self.settings)

    def read_upright(self, data):
        """The Attempt of reading image bytes as they stand, never turned: what training learns from
        and calibrates on, as the first attempt of every read."""
        return self.read_as_it_is(self.decode(data), self.budget())

    def read_decoded(self, decoded, min_confidence=0.0, budget=None):
        """Segment, cut and classify a decoded image, its deadline checked between the steps; a
        reading less sure than the settings' turn_below, or one that left marks unread, is tried on
        the page turned (read_turned), and any reading whose digits the turn judge finds turned is
        tried at that turn (right_way_up)."""
        budget = budget or self.budget()
        reading = self.read_turned(decoded, self.read_as_it_is(decoded, budget), budget)
        return self.right_way_up(decoded, reading, budget).filtered(min_confidence)

    def read_as_it_is(self, decoded, budget):
        """The Attempt of reading a decoded image as it stands, every digit found kept."""
        settings = self.settings
        budget.check("decoding")
        found = segment(decoded.image, settings.working_side, settings.max_marks)
        if found.marks_at_limit:
            budget.cut_short.add("max_marks")
        budget.check("finding the digits")
        kept = keep_first(found.lines, settings.max_digits)
        if sum(map(len, kept)) < sum(map(len, found.lines)):
            budget.cut_short.add("max_digits")
        lines = cutting.plan(kept, found.digit_height, budget, settings.max_cuts)
        chosen = cutting.choose(lines, self.classify(cutting.candidates(lines), budget))
        to_original = decoded.scale / found.scale
        # The cut search, reject_below and the line reader's rule were tuned on the model's own
        # probabilities: they decide on those, and only what a reading reports is calibrated.
        read = [
            (number, piece, probabilities)
            for number, line in enumerate(chosen)
            for piece, probabilities in line
            if model_io.digit_probabilities(probabilities).max() >= settings.reject_below
        ]
        calibrated = [self.calibration.digit(probabilities) for *_, probabilities in read]
        digits = [
            _digit(piece, answer, number, to_original, decoded.width, decoded.height)
            for (number, piece, _), answer in zip(read, calibrated)
        ]
        opinion, evidence, page = None, None, None
        if self.lines is not None:
            own = [float(model_io.digit_probabilities(p).max()) for *_, p in read]
            searched = digits
            digits, opinion, confirmed, line_agrees = self.read_whole(found, decoded, searched, own, budget)
            if opinion == whole_lines.WHOLE:  # the line reader's digits: the digit model is asked of their crops, and
                # a first one it finds no digit, where the cut search read none, is a sign before the number
                crops = np.array([d.crop for d in digits], np.uint8).reshape(-1, *model_io.INPUT_SHAPE[:2])
                answers = self.classify(crops, budget)
                numeric = whole_lines.signs_before(digits, answers[:, model_io.NOT_A_DIGIT], searched)
                digits, answers = [d for d, keep in zip(digits, numeric) if keep], answers[np.array(numeric, bool)]
            else:
                answers = np.array([p for *_, p in read], np.float64).reshape(-1, len(model_io.CLASSES))
            page = calibration.Page.of(found.lines, answers[:, model_io.NOT_A_DIGIT])
            scaled = self.calibration.digit(answers)
            not_a_digit = list(scaled[:, model_io.NOT_A_DIGIT])
            if confirmed is not None:
                evidence = calibration.Evidence(not_a_digit, confirmed, line_agrees, [d.crop for d in digits])
                digits = self.calibration.in_context(digits, evidence, page)
            elif opinion == whole_lines.WHOLE:
                digits = self.calibration.in_whole(digits, scaled, page)
            else:
                digits = self.calibration.in_alone(digits, not_a_digit, page)
        kept = _kept(digits, decoded.width, decoded.height)
        digits = [digit for digit, keep in zip(digits, kept) if keep]
        if evidence is not None:
            evidence = calibration.Evidence(*([entry for entry, keep in zip(field, kept) if keep] for field in evidence))
        separators = found.separators_in(to_original, decoded.width, decoded.height)
        power, ceiling = self.calibration.reading_fit(opinion)
        reading = Reading(tuple(digits), decoded.width, decoded.height, tuple(sorted(budget.cut_short)), separators,
                          settings.doubtful_below, power=power, ceiling=ceiling)
        return Attempt(reading, found, opinion, evidence, page)

    def read_whole(self, found, decoded, digits, probabilities, budget):
        """What the line reader makes of a reading, as (digits, opinion, confirmed, line_agrees). Its
        reading of the strip of the segmented grey (`found.dark`, ink dark) around `digits`, or of the
        whole image around its marks, replaces a short reading the cut search is unsure of
        (`probabilities`: the model's own) when it is sure enough and outvoted by no crop read as the
        cut search did (whole_lines.best). Of a one-line reading, the band and the whole image both seen
        unsqueezed, so does its reading of the whole image where the cut search left a mark unread
        (whole_lines.fills_in), and its reading of the band when it reads the whole image alike
        (whole_lines.concur) and reads past the line's ends no ink that runs across the band, as a form
        box's side does (whole_lines.runs_across), and of any one-line reading its reading of the band
        alone where it adds digits on the line, jointly sure (whole_lines.inserts): opinion
        whole_lines.WHOLE. Else the digits stay, and when they lie on at most CONFIRM_LINES lines each
        line is read whole: of each digit, `confirmed` says whether the line reader read it too and
        `line_agrees` whether it read its line as the cut search did; the opinion is AGREE when every
        line agrees. None for what the line reader was not asked."""
        grey = found.dark
        to_grey = grey.shape[0] / decoded.height
        marks = [blob for line in found.lines for blob in line]
        everything = whole_lines.marked(marks, found.digit_height, grey.shape)
        whole = None  # the line reader's reading of the whole image, once it was asked for one
        if whole_lines.unsure(digits, probabilities):
            budget.check("reading the line whole")
            boxes = whole_lines.strips(grey, digits, to_grey, everything)
            texts = self.lines.read([grey[t:b, l:r] for l, t, r, b in boxes])
            kept = [not whole_lines.drops_a_one(text.text, digits, marks, to_grey) for text in texts]
            chosen = whole_lines.best([text for text, keep in zip(texts, kept) if keep],
                                      [box for box, keep in zip(boxes, kept) if keep],
                                      whole_lines.fewest(digits), whole_lines.text_of(digits))
            if chosen is not None:
                return list(whole_lines.as_digits(*chosen, grey, to_grey)), whole_lines.WHOLE, None, None
            whole = next((text for text, box in zip(texts, boxes) if box == everything), None)
        lines = whole_lines.by_line(digits)
        if not lines or len(lines) > whole_lines.CONFIRM_LINES:
            return digits, None, None, None
        bands = [whole_lines.band(grey, line, to_grey, whole_lines.CONFIRM_MARGIN) for line in lines]
        if None in bands:
            return digits, None, None, None
        budget.check("confirming the lines")
        field = len(lines) == 1 and all(map(whole_lines.unsqueezed, (bands[0], everything)))
        ask_whole = field and whole is None
        crops = bands + ([everything] if ask_whole else [])
        texts = self.lines.read([grey[t:b, l:r] for l, t, r, b in crops])
        if ask_whole:
            whole = texts.pop()
        if field and whole_lines.fills_in(whole, lines[0], marks, to_grey):
            return list(whole_lines.as_digits(whole, everything, grey, to_grey)), whole_lines.WHOLE, None, None
        if (field and whole_lines.concur(texts[0], whole, lines[0], bands[0], to_grey)
                and not whole_lines.drops_a_one(texts[0].text, lines[0], marks, to_grey)
                and not whole_lines.runs_across(texts[0], bands[0], lines[0], grey, to_grey)):
            return list(whole_lines.as_digits(texts[0], bands[0], grey, to_grey)), whole_lines.WHOLE, None, None
        if len(lines) == 1 and whole_lines.inserts(texts[0], lines[0], bands[0], grey, to_grey):
            return list(whole_lines.as_digits(texts[0], bands[0], grey, to_grey)), whole_lines.WHOLE, None, None
        confirmed, line_agrees = [], []
        for text, box, line in zip(texts, bands, lines):
            confirmed += whole_lines.confirmed(text, box, line, to_grey)
            line_agrees += [text.text == whole_lines.text_of(line)] * len(line)
        opinion = whole_lines.AGREE if all(line_agrees) else whole_lines.DISAGREE
        return digits, opinion, confirmed, line_agrees

    def read_turned(self, decoded, attempt, budget):
        """The surest reading of a page that may have been photographed turned. `attempt`'s reading
        stands when it is at least the settings' turn_below sure and read every mark found
        (orientation.unread_marks). Else the layout of the marks found upright, or the model's votes
        in one call, choose the turns worth reading again in full (orientation.candidates), and so
        does the turn judge where it leans to a turn for the digits read (orientation.leaning). An
        unsure reading gives way to the surest turn's when that is sure itself and clearly surer
        (orientation.surer); a sure one only to a turn's that reads more of the marks, surely
        (orientation.reads_more). A lone digit at a turn counts only when shown surely
        (orientation.lone_sure), and a turn's reading only when the turn judge finds its digits
        upright (judged_upright). Each turn is a read of its own, with the crops of one, within the
        same deadline; a turn that would pass it is not read."""
        blobs = [blob for line in attempt.found.lines for blob in line]
        upright = attempt.reading
        sure = upright.confidence >= self.settings.turn_below
        if sure and not orientation.unread_marks(len(upright.found), len(blobs)):
            return upright

        def votes_of_marks():
            return orientation.votes(self.classify(orientation.blob_crops(blobs), budget))

        turned = []
        try:
            budget.check("looking for a turned page")
            lines = [len(line) for line in whole_lines.by_line(upright.found)]
            turns = orientation.candidates(blobs, attempt.found.digit_height, lines, votes_of_marks)
            for degrees in dict.fromkeys(turns + self.leaning(upright)):
                turned.append(self.read_at(decoded, degrees, budget))
        except TooComplex:
            pass
        standing = [reading for reading in turned
                    if orientation.lone_sure([d.probability for d in reading.found]) and self.judged_upright(reading)]
        if sure:
            standing = [r for r in standing if orientation.reads_more(len(r.found), r.confidence, len(upright.found))]
        best = max(standing, key=attrgetter("confidence"), default=upright)
        return best if sure or orientation.surer(best.confidence, upright.confidence) else upright

    def leaning(self, reading):
        """The turn the turn judge leans to for `reading`'s digits (orientation.leaning), as a list;
        none without a judge or digits."""
        if self.turns is None or not reading.found:
            return []
        return orientation.leaning(self.turn_evidence(reading))

    def judged_upright(self, reading):
        """Whether the turn judge finds the digits of `reading` upright (orientation.judged_upright);
        always, without a judge."""
        return self.turns is None or orientation.judged_upright(self.turn_evidence(reading))

    def turn_evidence(self, reading):
        """The turn judge's evidence, per quarter turn, that the digits of `reading` lie turned
        (orientation.turn_evidence)."""
        crops = np.array([d.crop for d in reading.found], np.uint8).reshape(-1, *model_io.INPUT_SHAPE[:2])
        if not len(crops):
            return np.zeros(orientation.QUARTERS)
        return orientation.turn_evidence(self.turns.predict(model_io.to_batch(crops)))

    def right_way_up(self, decoded, reading, budget):
        """`reading`, or the page read at the turn the turn judge finds its digits lie at, when it
        finds one (orientation.judged_turn) and that reading is sure and clearly surer, or the judge
        very sure (orientation.rather_turned, orientation.lone_sure). Asking the judge costs one
        small call; the page is read again only when it names a turn. A lone digit is turned by
        lone_turned."""
        if self.turns is None or not reading.found:
            return reading
        evidence = self.turn_evidence(reading)
        if len(reading.found) < orientation.JUDGED_DIGITS:
            return self.lone_turned(decoded, reading, evidence, budget)
        judged = orientation.judged_turn(evidence, len(reading.found))
        if not judged:
            return reading
        try:
            budget.check("reading the page at the judged turn")
            turned = self.read_at(decoded, (reading.orientation + judged) % 360, budget)
        except TooComplex:
            return reading
        rather = orientation.rather_turned(turned.confidence, reading.confidence, evidence[judged // 90])
        return turned if rather and orientation.lone_sure([d.probability for d in turned.found]) else reading

    def lone_turned(self, decoded, reading, evidence, budget):
        """A reading of one digit, or the page read at a turn the turn judge finds the digit lies at
        (orientation.lone_turns): the surest such reading that shows its digit very surely
        (orientation.lone_sure), is surer than `reading` and has digits the judge finds upright. A
        digit turned is read as another, and often surely (a 4 as a 5, a 9 as a 6), so no lead over
        the first reading is asked; the judge's word and the very sure digit stand for it."""
        best = reading
        for degrees in orientation.lone_turns(evidence):
            try:
                budget.check("reading a lone digit at a turn")
                turned = self.read_at(decoded, (reading.orientation + degrees) % 360, budget)
            except TooComplex:
                break
            if (turned.confidence > best.confidence and orientation.lone_sure([d.probability for d in turned.found])
                    and self.judged_upright(turned)):
                best = turned
        return best

    def read_at(self, decoded, degrees, budget):
        """The Reading of the page turned `degrees` clockwise, read with crops of its own within
        `budget`'s deadline, its orientation said."""
        own = copy.copy(budget)
        own.crops, own.cut_short = self.settings.max_crops, set()
        reading = self.read_as_it_is(orientation.turned(decoded, degrees), own).reading
        return dataclasses.replace(reading, orientation=degrees)


class Attempt(NamedTuple):
    """One reading of an image as it stands, before min_confidence, with what it was read from."""
    reading: Reading
    found: Segmentation
    opinion: str | None  # what the line reader said of it (whole_lines.AGREE, ...), None for nothing
    evidence: calibration.Evidence | None  # what the line reader confirmed of each digit; None: not asked
    page: calibration.Page | None  # what the digits were weighed by in their page; None: not weighed


def _kept(digits, width, height):
    """Whether each of the Digits, read in a width x height image, is kept: not a short mark that
    short_marks finds stray, nor, measured against the digits left, an edge the frame cut
    (sheet_edges). Their calibrated probability, which weighs the line reader's word and the ink's
    shape, tells a stray tick from a small digit; the model's own probability does not (it names
    most ticks a sure 1)."""
    out = short_marks.strays([d.box.height for d in digits], [d.probability for d in digits], [d.line for d in digits])
    kept = [not stray for stray in out]
    left = [index for index, keep in enumerate(kept) if keep]
    rest = [digits[index] for index in left]
    boxes = [(d.box.x, d.box.y, d.box.width, d.box.height) for d in rest]
    edges = sheet_edges.cut_by_frame(boxes, [d.digit for d in rest], [d.line for d in rest], width, height)
    for index, edge in zip(left, edges):
        kept[index] = not edge
    return kept


def _digit(piece, probabilities, line, to_original, width, height):
    """The Digit of a read piece, its box in the upright original and inside it: a strip shrunk to
    one working row still scales its rows by the width's factor."""
    probabilities = model_io.digit_probabilities(probabilities)
    ranked = np.argsort(probabilities)[::-1]
    x, y, w, h = piece.box
    left, top = min(round(x * to_original), width - 1), min(round(y * to_original), height - 1)
    right = min(max(round((x + w) * to_original), left + 1), width)
    bottom = min(max(round((y + h) * to_original), top + 1), height)
    box = Box(int(left), int(top), int(right - left), int(bottom - top))
    alternatives = tuple((int(d), float(probabilities[d])) for d in ranked[1:4])
    return Digit(int(ranked[0]), float(probabilities[ranked[0]]), alternatives, box, line, piece.crop)
