"""The sweep the MLflow tests record, and a listing of a workspace's files."""

from cifar_search import Space, Sweep

SWEEP = Sweep(name="moved", model="intro", sampler="grid",
              space=Space.from_dict({"parameters": {"optimizer": {"grid": ["sgd", "adam"]}}}))


def listing(folder):
    """Every file under ``folder`` with its size and modification time."""
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in folder.rglob("*") if p.is_file())
