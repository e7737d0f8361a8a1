"""CPU time and memory of a process and its descendants (psutil), for the benchmarks' notes."""

import psutil


def tree_cpu(process: psutil.Process) -> float:
    """CPU seconds of `process` (all its threads), its children that it has waited for, and its live descendants."""
    try:
        times = process.cpu_times()
        members = process.children(recursive=True)
    except psutil.Error:
        return 0.0
    total = times.user + times.system + times.children_user + times.children_system
    for member in members:
        try:
            child = member.cpu_times()
            total += child.user + child.system
        except psutil.Error:
            pass
    return total


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of `process` plus all its descendants, in bytes (0 once it has exited)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total
