"""``python -m cifar_search``."""

from cifar_search.fast_exit import exit_quickly

if __name__ == "__main__":
    from cifar_search.cli import main

    exit_quickly(main)
