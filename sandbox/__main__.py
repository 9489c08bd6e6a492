"""python -m sandbox: run the Twilio-compatible sandbox in the foreground until Ctrl-C."""
import argparse
import signal
import sys
import threading

from . import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_NUMBER, Sandbox


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--time-scale", type=float, default=60,
                   help="simulated call seconds per real second (60: a 3-minute call takes 3 s)")
    p.add_argument("--cps", type=float, default=1, help="account calls per second")
    p.add_argument("--seed", type=int, default=0, help="seed for row 9 and --random-mix")
    p.add_argument("--random-mix", action="store_true",
                   help="every number gets a seeded random outcome instead of the table")
    p.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    p.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    p.add_argument("--number", action="append", default=[],
                   help=f"another caller ID owned by the account (besides {DEFAULT_NUMBER})")
    p.add_argument("--goal-variable", default="appointment_booked")
    p.add_argument("--late-variables", type=float, default=300,
                   help="simulated seconds after the call before row 6 reports its variables")
    p.add_argument("--price-delay", type=float, default=2.0,
                   help="real seconds after a call ends until its price shows (default 2)")
    p.add_argument("--allow-country", action="append", default=[], metavar="CODE",
                   help="another country calling code the account may call, e.g. 44 "
                        "(geo permissions; +1 is always allowed)")
    p.add_argument("--geo-refuse", action="append", default=[], metavar="PREFIX[=CODE]",
                   help="a destination prefix the account's geo permissions refuse, e.g. +1264 "
                        "(21215) or +1473=13227 (codes 21215, 13227, 32205; repeatable)")
    p.add_argument("--balance", type=_balance, default=100.0,
                   help="the account's starting balance in USD (default 100), or 'null': the "
                        "Balance resource answers \"balance\": null, as for a subaccount")
    p.add_argument("--assistant-results-url", help="POST post-call variables here as JSON")
    p.add_argument("--assistant-secret", help="HMAC-SHA256 key for X-Outcall-Signature")
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p.parse_args(argv)


def _balance(value: str):
    if value.lower() in ("null", "none"):
        return None
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: a number of USD, or 'null'") from None


def sandbox_options(args) -> dict:
    """Sandbox keyword options from the command line."""
    refused = {}
    for item in args.geo_refuse:
        prefix, _, code = item.partition("=")
        refused[prefix] = int(code) if code.isdigit() else (code or 21215)
    return dict(
        account_sid=args.account_sid, auth_token=args.auth_token,
        phone_numbers=[DEFAULT_NUMBER] + [n for n in args.number if n != DEFAULT_NUMBER],
        cps=args.cps, time_scale=args.time_scale, seed=args.seed,
        random_mix=args.random_mix, goal_variable=args.goal_variable,
        late_variables=args.late_variables, price_delay=args.price_delay,
        allowed_country_codes=["1"] + args.allow_country, geo_refused_prefixes=refused,
        balance=args.balance, assistant_results_url=args.assistant_results_url,
        assistant_secret=args.assistant_secret, verbose=args.verbose)


def main(argv=None):
    args = parse_args(argv)
    options = sandbox_options(args)
    numbers = options["phone_numbers"]
    sandbox = Sandbox(args.host, args.port, **options)
    sandbox.start()
    print(f"outcall sandbox listening on {sandbox.url}\n"
          f"  account sid : {sandbox.account_sid}\n"
          f"  auth token  : {sandbox.auth_token}\n"
          f"  numbers     : {', '.join(numbers)}\n"
          f"  cps={args.cps} time_scale={args.time_scale} seed={args.seed}"
          f" random_mix={args.random_mix} price_delay={args.price_delay}s"
          f" countries=+{',+'.join(sandbox.config.allowed_country_codes)}\n"
          f"  twilio: client.api.base_url = {sandbox.url!r}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
