"""Every page of the app, once: the navigation (app/streamlit_app.py), Home's list of what each page
teaches, and the tests that open every page all read this table. Adding a page is one row here."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageRow:
    file: str  # under app/, e.g. "views/latent_map.py"
    title: str
    icon: str
    url_path: str  # "" for the default page
    teaches: str  # one line for Home: what the page lets a student see
    section: str = ""  # the navigation's heading above the page


def _section(name: str, *rows: PageRow) -> tuple[PageRow, ...]:
    return tuple(PageRow(r.file, r.title, r.icon, r.url_path, r.teaches, name) for r in rows)


PAGES: tuple[PageRow, ...] = (
    *_section("Start",
              PageRow("views/home.py", "Home", ":material/home:", "", "What an autoencoder, a VAE and an AAE are"),
              PageRow("views/zoo.py", "Model zoo", ":material/grid_view:", "zoo",
                      "Every family side by side on the same digits: what each one optimises, and what that does")),
    *_section("Explore a code",
              PageRow("views/latent_map.py", "Latent map", ":material/scatter_plot:", "latent-map",
                      "Explore a latent map: click a code or empty space and decode it"),
              PageRow("views/interpolation.py", "Interpolation", ":material/animation:", "interpolation",
                      "Walk between two digits through the code"),
              PageRow("views/mouse.py", "Decode under the mouse", ":material/mouse:", "mouse",
                      "Move the pointer anywhere on a map: your browser decodes it as you move"),
              PageRow("views/neighbours.py", "Nearest neighbours", ":material/hub:", "neighbours",
                      "A digit's nearest neighbours in code space beside those in pixel space"),
              PageRow("views/draw.py", "Draw or upload a digit", ":material/draw:", "draw",
                      "Draw your own digit and encode it")),
    *_section("Compare",
              PageRow("views/ae_vs_vae.py", "AE vs VAE", ":material/difference:", "ae-vs-vae",
                      "The same 2-D network with and without the KL term: gaps, scale, and what sampling gives"),
              PageRow("views/compare.py", "VAE vs AAE", ":material/compare:", "vae-vs-aae",
                      "A VAE and an AAE on the same prior: which one fills it — on digits and on clothes (Fashion-MNIST)"),
              PageRow("views/denoising.py", "Denoising", ":material/blur_on:", "denoising",
                      "Corrupt a digit and see what a denoising AE recovers that a plain AE cannot")),
    *_section("Labels and styles",
              PageRow("views/styles.py", "Style explorer", ":material/brush:", "styles",
                      "Change a digit's style, not its identity (supervised AAE, conditional VAE)"),
              PageRow("views/label_manifolds.py", "Label-conditioned manifolds", ":material/donut_large:",
                      "label-manifolds", "Pin each digit to its own part of the prior"),
              PageRow("views/clusters.py", "Clusters", ":material/workspaces:", "clusters",
                      "Find the digits without any label"),
              PageRow("views/dimred.py", "Dimensionality reduction", ":material/grain:", "dimred",
                      "Map all of MNIST to 2-D with cluster heads")),
    *_section("Train and measure",
              PageRow("views/live.py", "Train live", ":material/model_training:", "live",
                      "Watch an AAE learn: the codes pushed onto the prior epoch by epoch, the discriminator's game"),
              PageRow("views/paper.py", "Paper vs ours", ":material/table_chart:", "paper",
                      "The paper's numbers next to ours")),
)


def sections() -> dict[str, list[PageRow]]:
    """The table grouped by heading, in order."""
    out: dict[str, list[PageRow]] = {}
    for row in PAGES:
        out.setdefault(row.section, []).append(row)
    return out
