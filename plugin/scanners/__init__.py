"""Scanner exports (issue 8 part 2): folders that intraoral, facial and CBCT software export STL, PLY and DICOM
Part 10 files to, watched by polling (portable: no inotify).

    naming.py     which patient a file belongs to: a configured filename pattern or a sidecar `<file>.json`
    complete.py   is the file complete (STL length / 'endsolid', PLY header, DICOM header readable)
    watch.py      the Watcher: poll, wait until stable and complete, take once (an event), or hold unmatched

docs/scanners.md is the user's guide.
"""
