"""An authoritative DNS server for tests, on a free loopback port.

Serves the records of the zone file named by argv[1] (BIND syntax, fully
qualified names) as an authoritative server does: a CNAME at a name answers
every type and is followed within the zone; a name without records of the
type asked is NOERROR with no answer (NODATA), a name that does not exist is
NXDOMAIN, both with the zone's SOA. Names under the suffixes argv[2:] are
answered with SERVFAIL. Prints the port, serves until stdin is closed.
"""
import sys

from dnslib import QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer

with open(sys.argv[1]) as f:
    records = RR.fromZone(f.read())
servfail = [s.lower().rstrip(".") for s in sys.argv[2:]]


def key(label):
    return str(label).lower().rstrip(".")


def under(name, suffix):
    return name == suffix or name.endswith("." + suffix)


class Zone(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        reply.header.aa = 1
        asked = key(request.q.qname)
        if any(under(asked, s) for s in servfail):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        qtype = request.q.qtype
        name = asked
        for _ in range(8):
            here = [rr for rr in records if key(rr.rname) == name]
            cname = [rr for rr in here if rr.rtype == QTYPE.CNAME]
            if cname and qtype != QTYPE.CNAME:
                reply.add_answer(cname[0])
                name = key(cname[0].rdata.label)
                continue
            for rr in here:
                if rr.rtype == qtype:
                    reply.add_answer(rr)
            break
        if not reply.rr:
            soa = [rr for rr in records if rr.rtype == QTYPE.SOA and under(asked, key(rr.rname))]
            exists = any(under(key(rr.rname), asked) for rr in records)
            if not soa or not exists:
                reply.header.rcode = RCODE.NXDOMAIN
            for rr in soa[:1]:
                reply.add_auth(rr)
        return reply


server = DNSServer(
    Zone(),
    port=0,
    address="127.0.0.1",
    logger=DNSLogger("-request,-reply,-truncated,-data,-send,-recv,-error", prefix=False),
)
server.start_thread()
print(server.server.server_address[1], flush=True)
try:
    sys.stdin.read()
finally:
    server.stop()
