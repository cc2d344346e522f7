from .trainable_parameters_constructor import (TrainableParametersOptimWrapperConstructor,
                                               trainable_summary)

__all__ = ['TrainableParametersOptimWrapperConstructor', 'trainable_summary']
