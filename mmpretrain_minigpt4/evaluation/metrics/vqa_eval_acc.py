"""VQA accuracy averaged over annotators, as the official VQA evaluation (VQAEval)."""
from typing import Dict, List, Optional

from mmpretrain.evaluation.metrics import VQAAcc
from mmpretrain.registry import METRICS


def leave_one_out_accuracy(matches: int, num_answers: int) -> float:
    """Mean over the ``num_answers`` subsets that leave one human answer out of
    ``min(1, matching answers in the subset / 3)``.

    >>> leave_one_out_accuracy(2, 10)  # mmpretrain's VQAAcc gives 2/3
    0.6
    """
    left_out_match = min(1.0, (matches - 1) / 3) if matches else 0.0
    left_out_other = min(1.0, matches / 3)
    return (matches * left_out_match + (num_answers - matches) * left_out_other) / num_answers


@METRICS.register_module()
class VQAEvalAcc(VQAAcc):
    """VQAv2 / OK-VQA / TextVQA accuracy in percent, as the official ``VQAEval``.

    mmpretrain's ``VQAAcc`` scores ``min(1, #humans who gave the answer / 3)``;
    the official script averages that over the ten ways to leave one of the
    ten human answers out, which gives 0.3 / 0.6 / 0.9 (not 1/3, 2/3, 1) to
    answers given by 1 / 2 / 3 humans. Answers are normalised as in ``VQAAcc``.

    Args:
        num_answers (int): Human answers per question (10 in these benchmarks);
            answer counts are ``gt_answer_weight * num_answers``.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'VQA'.
    """

    def __init__(self, num_answers: int = 10, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_answers = num_answers

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        accuracies = []
        for result in results:
            counts = [w * self.num_answers for w in result['gt_answer_weight']]
            whole = all(abs(c - round(c)) < 1e-6 for c in counts)
            if not whole or round(sum(counts)) != self.num_answers:
                raise ValueError(
                    f'VQAEvalAcc expects {self.num_answers} human answers per question; answer '
                    f'weights {result["gt_answer_weight"]} of {result["gt_answer"]} do not fit '
                    '(set `num_answers`).')
            prediction = self._process_answer(result['pred_answer'])
            matches = sum(round(c) for answer, c in zip(result['gt_answer'], counts)
                          if self._process_answer(answer) == prediction)
            accuracies.append(leave_one_out_accuracy(matches, self.num_answers))
        return {'acc': sum(accuracies) / len(accuracies) * 100}
