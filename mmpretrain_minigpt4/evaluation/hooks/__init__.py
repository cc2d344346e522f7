from .prediction_visualization_hook import PredictionVisualizationHook

__all__ = ['PredictionVisualizationHook']
