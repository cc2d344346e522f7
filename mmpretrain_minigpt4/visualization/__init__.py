"""Visualisation: a backend for MMEngine's visualizer and the drawing of grounded answers."""
from .grounded_answer_drawing import (PHRASE_COLOURS, draw_grounded_answer, draw_grounded_boxes,
                                      draw_predicted_boxes, phrase_colours)
from .loss_curve_vis_backend import LossCurveVisBackend

__all__ = [
    'LossCurveVisBackend', 'PHRASE_COLOURS', 'draw_grounded_answer', 'draw_grounded_boxes',
    'draw_predicted_boxes', 'phrase_colours'
]
