"""``python -m mpi4pyve [options] <pyfile | -m mod | -c cmd | -> [arg] ...``

Runs Python code like ``python -m mpi4py`` does, with libmpive active and VE arrays accepted as buffers.
On an unhandled exception the traceback is printed and MPI_Abort is called on COMM_WORLD, so that the
other ranks do not wait forever (mpirun ends with a non-zero status).
"""
import sys

USAGE = """\
usage: python -m mpi4pyve [options] <pyfile> [arg] ...
   or: python -m mpi4pyve [options] -m <mod> [arg] ...
   or: python -m mpi4pyve [options] -c <cmd> [arg] ...
   or: python -m mpi4pyve [options] - [arg] ...
options:
  --version            show the versions of mpi4pyve, libmpive and mpi4py and exit
  --mpi-lib-version    show the MPI library version and exit
  -rc <key=value,...>  set 'mpi4py.rc.key=value'
  -p|--profile <pmpi>  use <pmpi> for profiling (mpi4pyve.profile)
  --mpe                profile with MPE
  --vt                 profile with VampirTrace
  --simulate           VE memory from the simulated VE bundled with mpi4pyve (MPI4PYVE_SIMULATE=1)
  -h|--help            show this help message and exit"""


def _usage(error=None):
    if error:
        print(f"python -m mpi4pyve: {error}\n{USAGE}", file=sys.stderr)
        sys.exit(1)
    print(USAGE)
    sys.exit(0)


def _set_rc(spec):
    from mpi4py import rc  # noqa: PLC0415

    for item in spec.split(","):
        if "=" not in item:
            _usage(f"-rc expects key=value, got {item!r}")
        key, value = (s.strip() for s in item.split("=", 1))
        if not hasattr(rc, key):
            _usage(f"unknown mpi4py.rc option {key!r}")
        try:
            value = eval(value, {})  # numbers, True/False/None, quoted strings  # noqa: S307
        except Exception:
            pass
        setattr(rc, key, value)


def _abort_status(exc):
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    if isinstance(exc, KeyboardInterrupt):
        return 130
    return 1


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    while args and args[0].startswith("-") and args[0] not in ("-m", "-c", "-"):
        opt = args.pop(0)
        if opt.startswith("--") and "=" in opt:  # --rc=key=value, --profile=name
            opt, value = opt.split("=", 1)
            args.insert(0, value)
        if opt in ("-h", "-help", "--help"):
            _usage()
        elif opt in ("-version", "--version"):
            import mpi4py  # noqa: PLC0415

            from . import __version__, veo  # noqa: PLC0415

            print(f"mpi4pyve {__version__} (libmpive {veo.version()}, mpi4py {mpi4py.__version__})")
            sys.exit(0)
        elif opt in ("-mpi-lib-version", "--mpi-lib-version"):
            from mpi4py import rc  # noqa: PLC0415

            rc.initialize = rc.finalize = False
            from . import MPI  # noqa: PLC0415

            print(MPI.Get_library_version())
            sys.exit(0)
        elif opt in ("-simulate", "--simulate"):
            import os  # noqa: PLC0415

            os.environ["MPI4PYVE_SIMULATE"] = "1"
        elif opt in ("-rc", "--rc"):
            if not args:
                _usage("argument expected for -rc")
            _set_rc(args.pop(0))
        elif opt in ("-p", "-profile", "--profile", "-mpe", "--mpe", "-vt", "--vt"):
            if opt.lstrip("-") in ("mpe", "vt"):
                name = opt.lstrip("-")
            elif not args or args[0].startswith("-"):
                _usage(f"argument expected for {opt}")
            else:
                name = args.pop(0)
            from . import profile  # noqa: PLC0415

            profile(name)
        else:
            _usage(f"unknown option {opt}")
    if not args:
        _usage("no program given")
    if args[0] in ("-m", "-c") and len(args) < 2:
        _usage(f"argument expected for {args[0]}")

    from . import MPI  # noqa: PLC0415  libmpive, MPI_Init (unless -rc initialize=False)
    from mpi4py.run import run_command_line  # noqa: PLC0415

    try:
        run_command_line(args)
    except BaseException as exc:  # noqa: BLE001
        status = _abort_status(exc)
        if not status:
            raise
        _report(exc)
        if MPI.Is_initialized() and not MPI.Is_finalized():
            MPI.COMM_WORLD.Abort(status)
        raise


def _report(exc):
    """Print the traceback so that it survives the MPI_Abort that follows.

    mpirun forwards each rank's output through a pipe and stops reading it once a rank aborts; a
    traceback written line by line (stderr is line buffered) can lose its last lines, the ones naming
    the exception. So it goes out in one write, and the forwarder gets a moment to pass it on.
    """
    import os  # noqa: PLC0415
    import time  # noqa: PLC0415
    import traceback  # noqa: PLC0415

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).encode(errors="replace")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001  a closed or broken stream must not hide the abort
            pass
    try:
        while text:
            text = text[os.write(2, text):]
    except OSError:
        pass
    time.sleep(0.2)


if __name__ == "__main__":
    main()
