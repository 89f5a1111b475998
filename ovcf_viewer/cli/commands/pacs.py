"""``ovcf-viewer pacs echo|find|retrieve|send``: the department archive from the command line.

NODE-OPTIONS name the archive: ``--node NAME`` (saved in the settings), or
``--host H --port P --called-aet AET [--calling-aet AET]`` (DIMSE), or ``--dicomweb URL``.
Every failure is one line on stderr and exit status 2; nothing is sent unless asked.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

NAME = "pacs"
HELP = "query, retrieve from and send to an archive (PACS) over DIMSE or DICOMweb"


def _node_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("NODE-OPTIONS (which archive)")
    group.add_argument("--node", default="", help="an archive node saved in the settings")
    group.add_argument("--host", default="", help="DIMSE: the archive's host name or address")
    group.add_argument("--port", type=int, help="DIMSE: the archive's port")
    group.add_argument("--called-aet", default="", help="DIMSE: the archive's AE title")
    group.add_argument(
        "--calling-aet", default="", help="DIMSE: this workstation's AE title (OVCFVIEWER)"
    )
    group.add_argument("--dicomweb", default="", metavar="URL", help="DICOMweb root URL")
    group.add_argument("--tls", action="store_true", help="DIMSE: use DICOM TLS")
    group.add_argument("--ca-file", default="", help="TLS/HTTPS: trusted CA certificates (PEM)")
    group.add_argument("--cert-file", default="", help="TLS/HTTPS: client certificate (PEM)")
    group.add_argument("--key-file", default="", help="TLS/HTTPS: client private key (PEM)")
    group.add_argument(
        "--no-verify", action="store_true",
        help="TLS/HTTPS: do not verify the archive's certificate (testing only)",
    )
    group.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS",
        help="give up on any network wait after this long (default 30)",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="pacs_action", metavar="ACTION", required=True)
    echo = actions.add_parser("echo", help="test the connection (C-ECHO or a DICOMweb query)")
    _node_options(echo)

    find = actions.add_parser("find", help="search studies")
    find.add_argument("--patient-id", default="")
    find.add_argument("--patient-name", default="", help="DICOM wildcards * and ? allowed")
    find.add_argument("--study-date", default="", metavar="YYYYMMDD[-YYYYMMDD]")
    find.add_argument("--modality", default="", metavar="M")
    find.add_argument("--limit", type=int, default=None, help="most studies to list (500)")
    find.add_argument("--json", action="store_true", help="print a JSON list of studies")
    _node_options(find)

    retrieve = actions.add_parser(
        "retrieve", help="retrieve a study into a folder (C-GET, C-MOVE or WADO-RS)"
    )
    retrieve.add_argument("study_uid", metavar="STUDY_UID")
    retrieve.add_argument("-o", "--output", required=True, metavar="DIR")
    retrieve.add_argument(
        "--move-destination", default="", metavar="AET",
        help="retrieve by C-MOVE to this AE title (a storage SCP run here) instead of C-GET",
    )
    retrieve.add_argument(
        "--move-port", type=int, default=None, help="port the C-MOVE receiver listens on (11113)"
    )
    retrieve.add_argument(
        "--move-bind", default=None, metavar="ADDRESS",
        help="address the C-MOVE receiver listens on (default: all)",
    )
    _node_options(retrieve)

    send = actions.add_parser("send", help="store files on the archive (C-STORE or STOW-RS)")
    send.add_argument("files", nargs="+", metavar="FILE")
    _node_options(send)


def _fail(action: str, message: str) -> int:
    print(f"ovcf-viewer pacs {action}: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        # pydicom's remarks on an archive's odd values are no concern of the user here;
        # every failure is one line (below).
        warnings.simplefilter("ignore")
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from ovcf_viewer.io.archive import ArchiveError, StudyQuery
    from ovcf_viewer.services import archive as service

    action = args.pacs_action
    options = service.NodeOptions(
        node=args.node, host=args.host, port=args.port, called_aet=args.called_aet,
        calling_aet=args.calling_aet, dicomweb=args.dicomweb, tls=args.tls,
        tls_ca_file=args.ca_file, tls_cert_file=args.cert_file, tls_key_file=args.key_file,
        no_verify=args.no_verify, timeout_s=args.timeout,
        move_destination=getattr(args, "move_destination", ""),
        move_port=getattr(args, "move_port", None),
        move_bind_address=getattr(args, "move_bind", None),
    )
    try:
        node = service.resolve_node(options)
        if action == "echo":
            seconds = service.echo(node)
            print(f"{node.describe()} answered in {seconds * 1000:.0f} ms")
            return 0
        if action == "find":
            return _find(args, node, service, StudyQuery)
        if action == "retrieve":
            return _retrieve(args, node, service)
        return _send(args, node, service)
    except ArchiveError as exc:
        return _fail(action, exc.message)
    except ValueError as exc:  # bad search keys
        return _fail(action, " ".join(str(exc).split()))
    except KeyboardInterrupt:
        return _fail(action, "interrupted")


def _find(args, node, service, study_query) -> int:  # noqa: ANN001 (lazy imports)
    from ovcf_viewer.io.archive import DEFAULT_FIND_LIMIT

    query = study_query(
        patient_id=args.patient_id, patient_name=args.patient_name,
        study_date=args.study_date, modality=args.modality,
    )
    limit = args.limit if args.limit is not None else DEFAULT_FIND_LIMIT
    if limit < 1:
        raise ValueError("--limit must be at least 1")
    studies = service.find_studies(node, query, limit)
    if args.json:
        print(json.dumps([s.as_json() for s in studies], indent=2, ensure_ascii=False))
        return 0
    if not studies:
        print("no matching studies")
        return 0
    for s in studies:
        count = "?" if s.number_of_instances is None else str(s.number_of_instances)
        print(f"{s.study_date or '--------'}  {s.patient_id:<16} {s.patient_name:<24} "
              f"{'/'.join(s.modalities) or '-':<6} {count:>4} inst  {s.study_description}  "
              f"{s.study_instance_uid}")
    return 0


def _retrieve(args, node, service) -> int:  # noqa: ANN001
    from ovcf_viewer.io.archive.base import is_uid

    if not is_uid(args.study_uid):
        raise ValueError(f"not a Study Instance UID: {args.study_uid!r}")
    folder = Path(args.output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    result = service.retrieve_study(node, args.study_uid, folder)
    print(f"{result.total} instance(s) of study {args.study_uid} in {folder}: "
          f"{result.received} retrieved, {result.skipped} already there")
    return 0


def _send(args, node, service) -> int:  # noqa: ANN001
    results = service.send_files(node, [Path(f) for f in args.files])
    refused = [r for r in results if not r.ok]
    for r in results:
        print(f"{'ok     ' if r.ok else 'REFUSED'}  {r.path}: {r.message}")
    if refused:
        return _fail("send", f"{len(refused)} of {len(results)} file(s) not stored "
                     "(listed above)")
    return 0
