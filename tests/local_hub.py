"""A Hugging Face Hub on 127.0.0.1 serving local folders, for testing ``xstilts fetch`` with the
real ``huggingface_hub`` client (``HF_ENDPOINT`` pointed at it): the calls that
``snapshot_download`` and ``hf_hub_download`` make, in the hub's own URL scheme.

* ``GET /api/{models|datasets}/<repo>[/revision/<rev>]``: the repo's commit sha and file list;
* ``GET /api/{models|datasets}/<repo>/tree/<rev>``: its files again (``list_repo_tree``);
* ``HEAD|GET /[datasets/]<repo>/resolve/<rev>/<path>``: a file, with the hub's ``ETag`` and
  ``X-Repo-Commit`` headers.

A repo is the folder ``<root>/<models|datasets>/<repo id>``; another branch of it is the folder
``<repo id>@<url-quoted branch>`` (``@refs%2Fconvert%2Fparquet`` for a Parquet export). The commit
sha of a branch is made up from its name, and a request for that sha serves the same folder.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlparse


class LocalHub:
    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LocalHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def folder(self, kind: str, repo: str, revision: str) -> tuple[Path, str] | None:
        """(folder, commit sha) of a repo at a branch name or at a sha this hub gave out."""
        base = self.root / kind / repo
        for candidate in [base, *base.parent.glob(f"{base.name}@*")]:
            branch = unquote(candidate.name.split("@", 1)[1]) if "@" in candidate.name else "main"
            sha = hashlib.sha1(f"{kind}/{repo}@{branch}".encode()).hexdigest()
            if candidate.is_dir() and revision in (branch, sha):
                return candidate, sha
        return None

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._serve(body=True)

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def _serve(self, body: bool) -> None:
                path = urlparse(self.path).path
                hub.requests.append(f"{self.command} {path}")
                if path.startswith("/api/"):
                    return self._info(path[len("/api/") :])
                kind = "datasets" if path.startswith("/datasets/") else "models"
                rest = path[len("/datasets/") :] if kind == "datasets" else path[1:]
                if "/resolve/" not in rest:
                    return self._missing("RepoNotFound")
                repo, tail = rest.split("/resolve/", 1)
                revision, _, file = tail.partition("/")
                found = hub.folder(kind, repo, unquote(revision))
                target = found[0] / unquote(file) if found else None
                if target is None or not target.is_file():
                    return self._missing("EntryNotFound")
                data = target.read_bytes()
                self.send_response(200)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", found[1])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _info(self, rest: str) -> None:
                kind, _, rest = rest.partition("/")
                if "/tree/" in rest:
                    return self._tree(kind, *rest.split("/tree/", 1))
                repo, _, revision = rest.partition("/revision/")
                found = hub.folder(kind, repo, unquote(revision) or "main")
                if found is None:
                    return self._missing("RevisionNotFound")
                folder, sha = found
                files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
                self._json({"id": repo, "sha": sha, "siblings": [{"rfilename": f} for f in files]})

            def _tree(self, kind: str, repo: str, tail: str) -> None:
                """``list_repo_tree`` (huggingface_hub >= 1 lists a snapshot's files this way)."""
                revision, _, sub = tail.partition("/")
                found = hub.folder(kind, repo, unquote(revision))
                if found is None:
                    return self._missing("RevisionNotFound")
                folder = found[0] / unquote(sub)
                entries = [
                    {
                        "type": "file" if p.is_file() else "directory",
                        "path": str(p.relative_to(found[0])),
                        "oid": hashlib.sha1(str(p).encode()).hexdigest(),
                        **({"size": p.stat().st_size} if p.is_file() else {}),
                    }
                    for p in sorted(folder.rglob("*"))
                ]
                self._json(entries)

            def _json(self, payload) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _missing(self, code: str) -> None:
                data = json.dumps({"error": code}).encode()
                self.send_response(404)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

        return Handler


def export_branch(repo_folder: Path) -> Path:
    """Where a repo's ``refs/convert/parquet`` branch lives in a LocalHub root."""
    return repo_folder.with_name(f"{repo_folder.name}@{quote('refs/convert/parquet', safe='')}")
