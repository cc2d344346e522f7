"""Visualisation backends for MMEngine's visualizer."""
from .loss_curve_vis_backend import LossCurveVisBackend

__all__ = ['LossCurveVisBackend']
