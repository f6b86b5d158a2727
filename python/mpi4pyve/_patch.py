"""Teaching the stock mpi4py.MPI classes about VE arrays, and the unsupported list of mpi4py-ve.

mpi4py's classes are immutable extension types, and objects such as COMM_WORLD, the requests and
messages it returns and the predefined datatypes are instances of them; subclasses would not reach
those. So the buffer-taking methods are wrapped in place: each wrapper replaces VE arrays in its
arguments by VEBuffers (see _vebuf) and calls mpi4py's own method, which parses the buffer specs and
calls MPI. Calls without VE arrays go straight through (one type test per argument).
"""
import ctypes
import functools
import gc

from . import _vebuf

# -- which methods take buffers -------------------------------------------------------------------
# "whole": every VE argument is the entire message, so a non-contiguous array can be described by a
# derived datatype; "split": the buffer is cut in blocks (per rank, per neighbor, per partition), or
# the call reduces (MPI libraries differ in which derived datatypes their reductions accept: Open MPI
# 4.1 refuses an hvector of doubles with MPI_SUM), so non-contiguous VE arrays are refused there.

_WHOLE = {
    "Comm": "Send Recv Sendrecv Sendrecv_replace Isend Irecv Isendrecv Isendrecv_replace Send_init "
            "Recv_init Ssend Rsend Issend Irsend Ssend_init Rsend_init Bcast Ibcast Bcast_init",
    "Message": "Recv Irecv",
    "File": "Read_at Read_at_all Write_at Write_at_all Iread_at Iread_at_all Iwrite_at Iwrite_at_all Read "
            "Read_all Write Write_all Iread Iread_all Iwrite Iwrite_all Read_shared Write_shared "
            "Iread_shared Iwrite_shared Read_ordered Write_ordered Read_at_all_begin Read_at_all_end "
            "Write_at_all_begin Write_at_all_end Read_all_begin Read_all_end Write_all_begin Write_all_end "
            "Read_ordered_begin Read_ordered_end Write_ordered_begin Write_ordered_end",
    "Win": "Put Get Rput Rget",
}
_SPLIT = {
    "Comm": "Psend_init Precv_init Gather Gatherv Scatter Scatterv Allgather Allgatherv Alltoall Alltoallv "
            "Alltoallw Reduce_scatter_block Reduce_scatter Igather Igatherv Iscatter Iscatterv Iallgather "
            "Iallgatherv Ialltoall Ialltoallv Ialltoallw Ireduce_scatter_block Ireduce_scatter Gather_init "
            "Gatherv_init Scatter_init Scatterv_init Allgather_init Allgatherv_init Alltoall_init "
            "Alltoallv_init Alltoallw_init Reduce_scatter_block_init Reduce_scatter_init",
    "Topocomm": "Neighbor_allgather Neighbor_allgatherv Neighbor_alltoall Neighbor_alltoallv "
                "Neighbor_alltoallw Ineighbor_allgather Ineighbor_allgatherv Ineighbor_alltoall "
                "Ineighbor_alltoallv Ineighbor_alltoallw Neighbor_allgather_init Neighbor_allgatherv_init "
                "Neighbor_alltoall_init Neighbor_alltoallv_init Neighbor_alltoallw_init",
    "Intracomm": "Scan Exscan Iscan Iexscan Scan_init Exscan_init",
    "Win": "Accumulate Get_accumulate Fetch_and_op Compare_and_swap Raccumulate Rget_accumulate",
}
_SPLIT["Comm"] += (" Reduce Allreduce Ireduce Iallreduce Reduce_init Allreduce_init")
# plain contiguous memory, not a message: (class, method) -> positions and keyword names
_RAW = {
    ("Datatype", "Pack"): ((0, "inbuf"), (1, "outbuf")),
    ("Datatype", "Unpack"): ((0, "inbuf"), (2, "outbuf")),
    ("Win", "Create"): ((0, "memory"),),
    ("Win", "Attach"): ((0, "memory"),),
}

# -- mpi4py-ve's unsupported list ------------------------------------------------------------------
_BUFFERED = ("buffered mode needs an attached host buffer that MPI copies the message into; with VE "
             "memory use the standard, synchronous or ready send modes (as in mpi4py-ve)")
_VE_REFUSED = {
    ("Comm", "Bsend"): _BUFFERED, ("Comm", "Ibsend"): _BUFFERED, ("Comm", "Bsend_init"): _BUFFERED,
    ("Comm", "bsend"): _BUFFERED, ("Comm", "ibsend"): _BUFFERED,
    ("Comm", "Attach_buffer"): "the buffer for buffered mode must be host memory",
    ("Op", "Reduce_local"): "a local reduction computes on the buffers in this process: VE memory is "
                            "not accessible from the host (as in mpi4py-ve)",
    ("Datatype", "Pack_external"): "external32 packing is not supported with VE memory (as in mpi4py-ve)",
    ("Datatype", "Unpack_external"): "external32 unpacking is not supported with VE memory (as in mpi4py-ve)",
}
_MODULE_VE_REFUSED = {"Attach_buffer": "the buffer for buffered mode must be host memory"}
_DYNPROC = ("dynamic process management (spawning, ports, name publishing, joining) is not "
            "supported by mpi4py-ve")
_ALWAYS_REFUSED = [("Intracomm", "Accept"), ("Intracomm", "Connect"), ("Comm", "Join"),
                   ("Intracomm", "Spawn"), ("Intracomm", "Spawn_multiple")]
_MODULE_ALWAYS_REFUSED = ["Open_port", "Close_port", "Lookup_name", "Publish_name", "Unpublish_name"]

# lower-case methods whose `buf` is only scratch memory for the pickled bytes
_PICKLE_BUF = {("Comm", "recv"): (0, "buf"), ("Comm", "irecv"): (0, "buf"),
               ("Comm", "sendrecv"): (None, "recvbuf"), ("Message", "recv"): (None, "buf"),
               ("Message", "irecv"): (None, "buf")}

PATCHED = []   # "Class.method" names wrapped, for introspection and tests


def _type_dict(cls):
    """The real (writable) dict of an extension type."""
    return gc.get_referents(cls.__dict__)[0]


def _set(cls, name, func):
    _type_dict(cls)[name] = func
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(cls))


def _nbytes(iface):
    n = int(iface["typestr"][2:])
    for d in iface["shape"]:
        n *= int(d)
    return n


def c_functions(cname, name):
    """The MPI functions mpi4py calls for method `cname.name` with its buffers (int and large-count
    forms; names the MPI library lacks are harmless)."""
    if cname == "File":
        base = "MPI_File_" + name.lower()
    elif cname == "Message":
        base = {"Recv": "MPI_Mrecv", "Irecv": "MPI_Imrecv"}[name]
    elif cname == "Win" and name in ("Create", "Attach"):
        base = "MPI_Win_" + name.lower()
    else:
        base = "MPI_" + name
    return (base, base + "_c")


UNINTERCEPTED = {}   # "Class.method" -> MPI functions mpi4py would call in the MPI library directly


def _derived_error(where, exc, args, kwargs):
    """Raises a ValueError that explains `exc` if the call had a VE array as a derived-datatype spec."""
    if any(_vebuf.is_derived_spec(a) for a in list(args) + list(kwargs.values())):
        raise ValueError(f"mpi4pyve: {where}: {exc} (a non-contiguous VE array is passed as one "
                         f"element of a derived datatype; the other buffers of the call must then "
                         f"have the same layout: pass contiguous arrays)") from exc


def held(cname, name):
    """mpi4py may still hold the buffers of `cname.name` after it returns: nonblocking, persistent and
    partitioned calls, the begin part of a split collective, and RMA (complete at synchronization)."""
    return cname == "Win" or name.startswith("I") or name.endswith(("_init", "_begin"))


def _message_wrapper(orig, where, whole, raw, missing=()):
    convert, has_ve, as_raw, ve_interface = _vebuf.convert, _vebuf.has_ve, _vebuf.as_raw, _vebuf.ve_interface
    keep = held(*where.split("."))
    raw_pos = {p for p, _ in raw}
    raw_kw = {k for _, k in raw}
    if missing:
        from . import _shim  # noqa: PLC0415

        why = (f"mpi4pyve: {where} is not available with VE arrays with this libmpive "
               f"({_shim.shim_file()}): mpi4py calls {' and '.join(missing)} here, which the MPI library "
               f"provides and libmpive does not intercept, so the VE address would reach the MPI library "
               f"unstaged. Use a libmpive that intercepts {missing[0]}, or host (numpy) arrays.")

    def conv(a, is_raw):
        if is_raw:
            iface = ve_interface(a)
            return as_raw(a, iface, where) if iface is not None else a
        return convert(a, where, whole, keep)

    if not missing and not raw:
        # the common case (no argument taken as raw memory): one pass that converts what holds a VE
        # array and leaves the rest (for host buffers: one type test per argument, then mpi4py's method)
        plain = _vebuf._PLAIN

        # `args` and `kwargs` stay bound, unchanged, until mpi4py returns: a call that completes before
        # it returns is given a buffer that does not hold the VE array (see _vebuf._buffer), and the
        # caller's stack does not hold a temporary (`comm.Send(simve.array(x), ...)`): since Python 3.11
        # the arguments move from the caller into this frame, so these names are their only owners
        @functools.wraps(orig)
        def wrapper(self, *args, **kwargs):
            new = None
            for i, a in enumerate(args):
                if type(a) in plain:
                    continue
                c = convert(a, where, whole, keep)
                if c is not a:
                    if new is None:
                        new = list(args)
                    new[i] = c
            call_args = args if new is None else new
            call_kw = kwargs
            if kwargs:
                for k, a in kwargs.items():
                    if type(a) in plain:
                        continue
                    c = convert(a, where, whole, keep)
                    if c is not a:
                        if call_kw is kwargs:
                            call_kw = dict(kwargs)
                        call_kw[k] = c
            if call_args is args and call_kw is kwargs:
                return orig(self, *args, **kwargs)
            try:
                return orig(self, *call_args, **call_kw)
            except ValueError as exc:
                _derived_error(where, exc, call_args, call_kw)
                raise

        wrapper.__mpi4pyve__ = "ve"
        return wrapper

    @functools.wraps(orig)
    def wrapper(self, *args, **kwargs):
        for a in args:
            if has_ve(a):
                break
        else:
            for a in kwargs.values():
                if has_ve(a):
                    break
            else:
                return orig(self, *args, **kwargs)
        if missing:
            raise NotImplementedError(why)
        # new names: `args` and `kwargs` keep the caller's arrays alive until mpi4py returns (see above)
        call_args = [conv(a, i in raw_pos) for i, a in enumerate(args)]
        call_kw = {k: conv(a, k in raw_kw) for k, a in kwargs.items()}
        try:
            return orig(self, *call_args, **call_kw)
        except ValueError as exc:
            _derived_error(where, exc, call_args, call_kw)
            raise

    wrapper.__mpi4pyve__ = "ve"
    return wrapper


def _refuse_ve_wrapper(orig, where, why):
    @functools.wraps(orig)
    def wrapper(*args, **kwargs):
        for a in list(args) + list(kwargs.values()):
            if _vebuf.has_ve(a):
                raise NotImplementedError(f"mpi4pyve: {where} is not supported with VE arrays: {why}")
        return orig(*args, **kwargs)

    wrapper.__mpi4pyve__ = "refused with VE arrays"
    return wrapper


def _refuse_wrapper(orig, where):
    @functools.wraps(orig)
    def wrapper(*args, **kwargs):
        raise NotImplementedError(f"mpi4pyve: {where} is not supported: {_DYNPROC}")

    wrapper.__mpi4pyve__ = "refused"
    return wrapper


def _pickle_buf_wrapper(orig, where, pos, key):
    ve_interface = _vebuf.ve_interface

    @functools.wraps(orig)
    def wrapper(self, *args, **kwargs):
        # the buffer only receives the pickled bytes: a host buffer of the same size does the job
        if pos is not None and len(args) > pos:
            iface = ve_interface(args[pos])
            if iface is not None:
                args = list(args)
                args[pos] = bytearray(_nbytes(iface))
        if key in kwargs:
            iface = ve_interface(kwargs[key])
            if iface is not None:
                kwargs[key] = bytearray(_nbytes(iface))
        return orig(self, *args, **kwargs)

    wrapper.__mpi4pyve__ = "pickle buffer"
    return wrapper


def _tomemory_wrapper(orig):
    from . import veo

    @functools.wraps(orig)
    def wrapper(self, *args, **kwargs):
        mem = orig(self, *args, **kwargs)
        if mem.address and veo.is_ve_addr(mem.address):
            raise BufferError("mpi4pyve: Win.tomemory: the window's memory is VE memory, which the "
                              "host cannot access; use Get/Put or keep the VE array you created it with")
        return mem

    wrapper.__mpi4pyve__ = "ve guard"
    return wrapper


def _wrap(cls, name, maker):
    d = cls.__dict__
    if name not in d:
        return
    orig = d[name]
    # class methods (Win.Create, Comm.Join...): wrap the function, keep the descriptor kind; the
    # wrapper then gets the class where it would get the instance
    kind = type(orig) if isinstance(orig, (classmethod, staticmethod)) else None
    func = orig.__func__ if kind else orig
    if getattr(func, "__mpi4pyve__", None):
        return
    new = maker(func)
    _set(cls, name, kind(new) if kind else new)
    PATCHED.append(f"{cls.__name__}.{name}")


def install(MPI):
    """Wraps mpi4py.MPI's buffer-taking methods (idempotent)."""
    from . import _shim  # noqa: PLC0415

    _vebuf.install(MPI)
    methods = [(cname, name, whole) for table, whole in ((_WHOLE, True), (_SPLIT, False))
               for cname, names in table.items() for name in names.split()]
    methods += [(cname, name, False) for (cname, name) in _RAW if (cname, name, False) not in methods]
    names = sorted({f for c, n, _ in methods for f in c_functions(c, n)})
    bypass = set(_shim.unintercepted(MPI, names))
    for cname, name, whole in methods:
        missing = tuple(f for f in c_functions(cname, name) if f in bypass)
        if missing:
            UNINTERCEPTED[f"{cname}.{name}"] = missing
        _wrap(getattr(MPI, cname), name, lambda o, c=cname, n=name, w=whole, m=missing:
              _message_wrapper(o, f"{c}.{n}", w, _RAW.get((c, n), ()), m))
    for (cname, name), why in _VE_REFUSED.items():
        _wrap(getattr(MPI, cname), name, lambda o, c=cname, n=name, y=why: _refuse_ve_wrapper(o, f"{c}.{n}", y))
    for cname, name in _ALWAYS_REFUSED:
        _wrap(getattr(MPI, cname), name, lambda o, c=cname, n=name: _refuse_wrapper(o, f"{c}.{n}"))
    for (cname, name), (pos, key) in _PICKLE_BUF.items():
        _wrap(getattr(MPI, cname), name, lambda o, c=cname, n=name, p=pos, k=key:
              _pickle_buf_wrapper(o, f"{c}.{n}", p, k))
    _wrap(MPI.Win, "tomemory", _tomemory_wrapper)
    # module-level functions: plain module attributes
    for name, why in _MODULE_VE_REFUSED.items():
        f = getattr(MPI, name, None)
        if f is not None and not getattr(f, "__mpi4pyve__", None):
            setattr(MPI, name, _refuse_ve_wrapper(f, f"MPI.{name}", why))
            PATCHED.append(f"MPI.{name}")
    for name in _MODULE_ALWAYS_REFUSED:
        f = getattr(MPI, name, None)
        if f is not None and not getattr(f, "__mpi4pyve__", None):
            setattr(MPI, name, _refuse_wrapper(f, f"MPI.{name}"))
            PATCHED.append(f"MPI.{name}")
    f = MPI.Get_address
    if not getattr(f, "__mpi4pyve__", None):
        setattr(MPI, "Get_address", _message_wrapper_fn(f, "MPI.Get_address"))
        PATCHED.append("MPI.Get_address")
    _register_pickling()


def _message_wrapper_fn(orig, where):
    @functools.wraps(orig)
    def wrapper(location):
        iface = _vebuf.ve_interface(location)
        return orig(_vebuf.as_raw(location, iface, where) if iface is not None else location)

    wrapper.__mpi4pyve__ = "ve"
    return wrapper


def _register_pickling():
    """NLCPy arrays pickle through the host (their data is copied out and back in)."""
    try:
        import nlcpy  # noqa: PLC0415
    except Exception:
        return
    import copyreg  # noqa: PLC0415

    def reduce_nlcpy(a):
        return (nlcpy.asarray, (a.get(),))

    copyreg.pickle(nlcpy.ndarray, reduce_nlcpy)
