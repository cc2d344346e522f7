"""The benchmark report: a Markdown table of the results and the JSON file."""
import json
import os
import os.path as osp


def format_table(results: dict) -> str:
    """A Markdown table: measurement, unit, ours (and variants), peer, ratio."""
    lines = ['| measurement | unit | variant | ours | peer | ours / peer |',
             '|---|---|---|---|---|---|']
    for name, entry in results.items():
        peer = entry.get('peer')
        for variant in [k for k in entry if k == 'ours' or (
                k.startswith('ours_') and isinstance(entry[k], float) and
                not k.startswith('ours_fraction'))]:
            ratio = entry.get(f'ratio_{variant}')
            lines.append('| {} | {} | {} | {:.3g} | {} | {} |'.format(
                name, entry['unit'], variant, entry[variant],
                f'{peer:.3g}' if peer else '-', f'{ratio:.2f}x' if ratio else '-'))
    return '\n'.join(lines)


def format_summary(report: dict, out: str) -> str:
    """One line: dtype, device, CPU, threads, total time and where the JSON is."""
    machine = report['machine']
    return (f'{report["dtype"]} on {report["device"]} ({machine["cpu"]}, '
            f'{machine["torch_threads"]} threads); total {report["total_s"]:.0f} s; JSON: {out}')


def write_report(report: dict, out: str) -> None:
    """Write ``report`` to ``out`` as indented JSON (parent directories are created)."""
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)
