"""ScienceQA accuracy, deterministic (no random guess for unreadable answers)."""
import re
from typing import Dict, List, Optional, Sequence

from mmpretrain.evaluation.metrics import ScienceQAMetric
from mmpretrain.registry import METRICS

GRADES_1_6 = {f'grade{i}' for i in range(1, 7)}
GRADES_7_12 = {f'grade{i}' for i in range(7, 13)}
SUBJECTS = {'natural science': 'acc_natural', 'social science': 'acc_social',
            'language science': 'acc_language'}


def parse_choice(prediction: str, choices: Sequence[str],
                 options: Sequence[str] = 'ABCDE') -> Optional[int]:
    """Index of the choice a free-text answer picks, or None if it picks none.

    Accepted: the option letter alone or first ('B', '(B)', 'B.', 'B) dog'),
    '(B)' anywhere, 'The answer is B' / 'Answer: B', or one choice's exact text.

    >>> parse_choice('(B) a dog', ['cat', 'dog'])
    1
    """
    letters = ''.join(options[:len(choices)])
    text = prediction.replace('<unk>', '').strip()
    patterns = (rf'^\(?([{letters}])(?:[.:)]|$)',
                rf'\(([{letters}])\)',
                rf'(?i:answer)(?: is)?:?\s*\(?([{letters}])\b')
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            return letters.index(match.group(1))
    matching = [i for i, choice in enumerate(choices)
                if choice.strip().lower() == text.rstrip('.').lower()]
    return matching[0] if len(matching) == 1 else None


@METRICS.register_module()
class ScienceQAAccuracy(ScienceQAMetric):
    """ScienceQA accuracy in percent, overall and by subject, context and grade.

    Fixes two things of mmpretrain's ``ScienceQAMetric``: an answer that names
    no option gets a *random* option there (results change run to run); here
    it is wrong. And there a question with a text hint is never counted in
    ``acc_has_image``; here, as in the official ScienceQA script, the context
    buckets are independent (``has_text``: non-empty hint, ``has_image``: an
    image, ``no_context``: neither).

    Args:
        options (Sequence[str]): Option letters. Defaults to 'A'..'E'.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'ScienceQA'.
    """
    default_prefix = 'ScienceQA'

    def __init__(self, options: Sequence[str] = ('A', 'B', 'C', 'D', 'E'),
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(options=list(options), collect_device=collect_device, prefix=prefix)

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            choices = sample.get('choices')
            hint = sample.get('hint') or ''
            has_image = bool(sample.get('has_image', False))
            self.results.append(dict(
                correct=parse_choice(sample.get('pred_answer'), choices, self.options)
                == sample.get('gt_answer'),
                subject=sample.get('subject'),
                grade=sample.get('grade'),
                has_text=bool(hint),
                has_image=has_image,
                no_context=not hint and not has_image))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        groups = {'all_acc': results}
        for result in results:
            keys = [SUBJECTS.get(result['subject'])]
            keys += [f'acc_{ctx}' for ctx in ('has_text', 'has_image', 'no_context') if result[ctx]]
            if result['grade'] in GRADES_1_6:
                keys.append('acc_grade_1_6')
            elif result['grade'] in GRADES_7_12:
                keys.append('acc_grade_7_12')
            for key in filter(None, keys):
                groups.setdefault(key, []).append(result)
        return {key: sum(r['correct'] for r in group) / len(group) * 100
                for key, group in groups.items()}
