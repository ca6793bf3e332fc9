"""Print the shipped models' test-set metrics as a markdown table: ``python -m aae_core.report``.

The numbers are read from each model's card, which ``python -m aae_core.evaluate FOLDER --write``
computes from the shipped weights.
"""
from __future__ import annotations

import aae_core


def results_table(root=None) -> str:
    rows = ["| model | prior | epochs | prior SWD ↓ | 5-NN accuracy ↑ | recon. NLL (nats) ↓ | train time |",
            "|---|---|---|---|---|---|---|"]
    for name in aae_core.list_pretrained(root):
        card = aae_core.load_pretrained(name, root).card
        m = card["metrics"]
        rows.append(f"| `{name}` | {card['prior']['name']} | {card['epochs']} | {m['prior_swd']:.3f} | "
                    f"{m['knn5_accuracy']:.4f} | {m['recon_bce']:.1f} | {card['wall_s'] / 60:.0f} min, "
                    f"{card['hardware']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(results_table())
