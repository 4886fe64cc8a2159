"""`dwcoder`: the command line.

    dwcoder suggest PATH... [--claim dental|medical] [--practice SYSTEM|VALUE] [--format json|fhir|table]
                            [--fhir-version R4|R5] [--mappings DIR]... [--explain]
    dwcoder mappings check [DIR]
    dwcoder serve | demo | doctor | dead-letters list|show|replay   (the event service: plugin/commands/)

Exit status: 0 all input was used (input of only context resources, with no clinical evidence, included);
1 some input was skipped (named on stderr and in "skipped"); 2 the command itself could not run (bad
arguments, bad mappings) or an internal error: one short line, never a traceback.
Stderr names files and resource references, never patient data.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from plugin import mappings
from plugin.coding import code_evidence
from plugin.errors import CoderError
from plugin.evidence.files import read_paths
from plugin.evidence.model import FhirResource
from plugin.suggestion import Suggestion


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except CoderError as exc:
        print(f"dwcoder: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: say so in one line; its text may quote input, so only its type
        print(f"dwcoder: internal error ({type(exc).__name__}); nothing was output. Please report it.", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dwcoder", description="Suggest CDT/CPT charge lines from FHIR, DICOM and STL evidence.")
    sub = parser.add_subparsers(required=True, dest="command")
    s = sub.add_parser("suggest", help="code the case(s) these files and folders hold")
    s.add_argument("paths", nargs="+")
    s.add_argument("--claim", choices=["dental", "medical"], help="claim form (default: from Coverage, else mappings default)")
    s.add_argument("--practice", default=os.environ.get("DWCODER_PRACTICE", ""), help="billing practice identifier SYSTEM|VALUE")
    s.add_argument("--format", choices=["json", "fhir", "table"], default="json")
    s.add_argument("--fhir-version", choices=["R4", "R5"], default="R4")
    s.add_argument("--mappings", action="append", default=[], metavar="DIR", help="practice override folder (repeatable)")
    s.add_argument("--explain", action="store_true", help="add each step's facts and every candidate rule's outcome")
    s.set_defaults(run=_suggest)
    m = sub.add_parser("mappings", help="work with mappings folders")
    msub = m.add_subparsers(required=True, dest="action")
    check = msub.add_parser("check", help="validate a mappings folder (a year folder, a base with years, or a practice override)")
    check.add_argument("folder", nargs="?", default=str(mappings.BASE_DIR))
    check.set_defaults(run=_check)
    from plugin.commands import register

    register(sub)
    return parser


def code_paths(paths: list[str], practice: str, claim: str | None, extra: tuple[str, ...] = (),
               explain: bool = False) -> list[Suggestion]:
    """Read, assemble and code: the whole job behind `dwcoder suggest`."""
    return code_evidence(read_paths(paths), practice, claim, extra, explain)


def _suggest(args: argparse.Namespace) -> int:
    read = read_paths(args.paths)
    results = code_evidence(read, args.practice, args.claim, tuple(args.mappings), args.explain)
    for note in read.notifications:  # not an error: what the pipeline must fetch, by type and count only
        print(f"dwcoder: {note.source}: {note.summary()}", file=sys.stderr)
    if read.notes:  # not evidence and not an error: named, so nobody takes them for read
        print(f"dwcoder: not read, documentation beside the evidence: {', '.join(read.notes)}", file=sys.stderr)
    if not results:
        if read.problems or not (read.notifications or read.evidence or read.ignored):
            print("dwcoder: no evidence found in the given paths (FHIR JSON, DICOM, STL or PLY)", file=sys.stderr)
            return 1
        if read.evidence or read.ignored:  # valid input, none of it a record the rules code: not an error
            files = len({e.source for e in read.evidence})
            kinds = sorted({e.type for e in read.evidence if isinstance(e, FhirResource)})
            where = f"; no clinical evidence in {files} file(s): only {', '.join(kinds)}" if files else ""
            print(f"dwcoder: nothing to code: {len(read.evidence) + read.ignored} valid resource(s) read{where}",
                  file=sys.stderr)
        return 0
    withheld = _print(results, args)
    skipped = [s for r in results for s in r.skipped]
    for item in skipped:
        print(f"dwcoder: skipped {item['source']}: {item['reason']}: {item['message']}", file=sys.stderr)
    if any(n.kind == "practice-not-found" for r in results for n in r.notices):
        print(f"dwcoder: the practice {args.practice} matches no Organization in the evidence: "
              "nobody is read as the practice's (see the practice-not-found notice)", file=sys.stderr)
    return 1 if skipped or withheld else 0


def _print(results: list[Suggestion], args: argparse.Namespace) -> int:
    """Print the results in the chosen format; the number of cases left out (FHIR: no patient to bill)."""
    if args.format == "json":
        for result in results:
            print(json.dumps(result.as_dict(), ensure_ascii=False))
        return 0
    if args.format == "table":
        from plugin.output.table import render_table

        print(render_table(results), end="")
        return 0
    from plugin.output.chargeitems import to_bundle

    billable = [r for r in results if r.lines and (r.patient or r.patient_identifier)]
    withheld = [r for r in results if r.lines and not (r.patient or r.patient_identifier)]
    for result in withheld:
        evidence = " ".join(sorted({e for line in result.lines for e in line.evidence}))
        print(f"dwcoder: skipped {evidence}: UnlinkedEvidence: case {result.case} has no patient to bill (no "
              f"Patient reference or DICOM PatientID): its {len(result.lines)} line(s) are not in the Bundle", file=sys.stderr)
    print(json.dumps(to_bundle(billable, args.fhir_version), indent=1, ensure_ascii=False))
    return len(withheld)


def _check(args: argparse.Namespace) -> int:
    folder = args.folder
    if os.path.isfile(os.path.join(folder, "manifest.yaml")) or any(p.isdigit() for p in os.listdir(folder)):
        loaded = mappings.load_folder(folder)
    else:
        loaded = mappings.load((folder,))
    print(f"ok: {folder}: mappings {loaded.version}: {len(loaded.rules)} rules, {len(loaded.codes)} codes, "
          f"{len(loaded.tables)} tables, {len(loaded.notices)} notice kinds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
