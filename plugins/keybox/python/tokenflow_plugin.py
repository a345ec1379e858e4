"""Serve a tokenflow plugin written in Python.

What sdk.Serve does for a Go plugin, over the same wire: go-plugin's
handshake (magic cookie, the stdout line, AutoMTLS), its broker, controller,
stdio and health services, the Plugin service of the contract
(sdk/proto/tokenflow/plugin/v1/plugin.proto), and a client of the engine's
Host service, the plugin's only way to the network. Copy this file and gen/
into your own plugin; docs/plugins-other-languages.md explains each part.
"""

import base64
import datetime
import itertools
import json
import os
import queue
import sys
import threading
from concurrent import futures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "gen"))

import grpc  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

import grpc_broker_pb2_grpc  # noqa: E402
import grpc_controller_pb2  # noqa: E402
import grpc_controller_pb2_grpc  # noqa: E402
import grpc_stdio_pb2_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
import plugin_pb2 as pb  # noqa: E402
import plugin_pb2_grpc as pb_grpc  # noqa: E402

# The values of sdk/proto/tokenflow/plugin/v1/handshake.go.
CORE_PROTOCOL_VERSION = 1  # go-plugin's own
PROTOCOL_VERSION = 1
MAGIC_COOKIE_KEY = "TOKENFLOW_PLUGIN"
MAGIC_COOKIE_VALUE = "3d9f2b7c-tokenflow-plugin-v1"

TYPES = {
    "string": pb.TYPE_STRING, "int": pb.TYPE_INT, "float": pb.TYPE_FLOAT, "bool": pb.TYPE_BOOL,
    "timestamp": pb.TYPE_TIMESTAMP, "duration": pb.TYPE_DURATION, "list": pb.TYPE_LIST,
    "object": pb.TYPE_OBJECT, "secret": pb.TYPE_SECRET,
}
CODES = {
    "invalid_argument": pb.ERROR_CODE_INVALID_ARGUMENT, "unauthenticated": pb.ERROR_CODE_UNAUTHENTICATED,
    "permission_denied": pb.ERROR_CODE_PERMISSION_DENIED, "not_found": pb.ERROR_CODE_NOT_FOUND,
    "conflict": pb.ERROR_CODE_CONFLICT, "rate_limited": pb.ERROR_CODE_RATE_LIMITED,
    "unavailable": pb.ERROR_CODE_UNAVAILABLE, "internal": pb.ERROR_CODE_INTERNAL,
}


class Field:
    def __init__(self, name, type, required=False, default=None, secret=False, doc="", elem=None, endpoint=False):
        self.name, self.type, self.required, self.default = name, type, required, default
        self.secret, self.doc, self.elem, self.endpoint = secret or type == "secret", doc, elem, endpoint

    def proto(self):
        return pb.Field(
            name=self.name, type=TYPES[self.type], required=self.required, secret=self.secret, doc=self.doc,
            default_json="" if self.default is None else json.dumps(self.default),
            elem=TYPES[self.elem] if self.elem else pb.TYPE_UNSPECIFIED, endpoint=self.endpoint)


class Op:
    """One op: its schema and its handler, handler(call) -> dict."""

    def __init__(self, name, doc, effect, handler, params=(), results=()):
        assert effect in ("read", "write"), effect
        self.name, self.doc, self.effect, self.handler = name, doc, effect, handler
        self.params, self.results = list(params), list(results)

    def proto(self):
        return pb.Op(name=self.name, doc=self.doc,
                     effect=pb.EFFECT_READ if self.effect == "read" else pb.EFFECT_WRITE,
                     params=[f.proto() for f in self.params], results=[f.proto() for f in self.results])


class Plugin:
    def __init__(self, name, version, doc, connection, ops):
        self.name, self.version, self.doc, self.connection, self.ops = name, version, doc, connection, ops


class PluginError(Exception):
    """A typed error (DESIGN.md, plugin contract): code is one of CODES."""

    def __init__(self, code, message, param="", retryable=False, retry_after_ms=0):
        super().__init__(message)
        assert code in CODES, code
        self.code, self.message, self.param = code, message, param
        self.retryable, self.retry_after_ms = retryable, retry_after_ms

    def proto(self):
        return pb.Error(code=CODES[self.code], message=self.message, param=self.param,
                        retryable=self.retryable, retry_after_ms=self.retry_after_ms)


class Held(Exception):
    """The engine held a request in a dry-run: the op stops and reports it."""


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body or b"null")


def error_from_response(what, resp):
    """The typed error for a vendor's HTTP error answer."""
    try:
        msg = resp.json().get("message", "")
    except (ValueError, AttributeError):
        msg = ""
    text = "%s: HTTP %d%s" % (what, resp.status, ": " + msg if msg else "")
    code = {400: "invalid_argument", 401: "unauthenticated", 403: "permission_denied", 404: "not_found",
            409: "conflict", 429: "rate_limited"}.get(resp.status, "unavailable" if resp.status >= 500 else "internal")
    return PluginError(code, text, retryable=code in ("rate_limited", "unavailable"))


PY_TYPES = {
    "string": str, "secret": str, "timestamp": str, "duration": str, "bool": bool,
    "int": int, "float": (int, float), "list": list, "object": dict,
}


def check_args(op, args):
    """Refuse missing or ill-typed arguments before the handler sends anything, as the Go
    SDK does: invalid_argument naming the parameter."""
    for f in op.params:
        if f.name not in args or args[f.name] is None:
            if f.required:
                raise PluginError("invalid_argument", "%s: %s is required" % (op.name, f.name), param=f.name)
            continue
        v = args[f.name]
        # bool is an int in Python; JSON keeps them apart, and so does the contract.
        if not isinstance(v, PY_TYPES[f.type]) or (isinstance(v, bool) and f.type != "bool"):
            raise PluginError("invalid_argument", "%s: %s must be a %s, got %s" % (op.name, f.name, f.type, type(v).__name__),
                              param=f.name)


class Call:
    """What a handler gets: the connection, the arguments, and send()."""

    def __init__(self, host, req):
        self.host, self.step_id = host, req.step_id
        self.connection = json.loads(req.connection_json or b"{}")
        self.args = json.loads(req.args_json or b"{}")
        self.dry_run = req.mode == pb.MODE_DRY_RUN

    def send(self, method, url, body=None, headers=None, session=False, notes=None):
        """Sends one request through the engine. A dict body is sent as JSON."""
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        req = pb.HTTPRequest(step_id=self.step_id, method=method, url=url, body=body or b"", session=session,
                             headers=[pb.Header(name=k, values=[v]) for k, v in hdrs.items()], notes=notes or {})
        resp = self.host.round_trip(req)
        if resp.held:
            raise Held()
        if resp.HasField("error"):
            code = {v: k for k, v in CODES.items()}.get(resp.error.code, "internal")
            raise PluginError(code, resp.error.message, resp.error.param, resp.error.retryable, resp.error.retry_after_ms)
        return Response(resp.status, {h.name: list(h.values) for h in resp.headers}, resp.body)


class HostClient:
    """One RoundTrip stream to the engine's Host service, requests multiplexed
    over it by id (the contract asks for one stream per process)."""

    def __init__(self, target, creds):
        channel = grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "localhost")])
        self.out, self.pending, self.lock, self.ids = queue.Queue(), {}, threading.Lock(), itertools.count(1)
        self.broken = None
        self.responses = pb_grpc.HostStub(channel).RoundTrip(iter(self.out.get, None))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for resp in self.responses:
                with self.lock:
                    slot = self.pending.pop(resp.id, None)
                if slot is not None:
                    slot.put(resp)
            reason = "the engine closed the host stream"
        except grpc.RpcError as e:
            reason = "the host stream failed: %s" % e.code()
        with self.lock:
            self.broken = reason
            for slot in self.pending.values():
                slot.put(None)
            self.pending.clear()

    def round_trip(self, req):
        slot = queue.Queue(1)
        with self.lock:
            if self.broken:
                raise PluginError("unavailable", self.broken, retryable=True)
            req.id = next(self.ids)
            self.pending[req.id] = slot
        self.out.put(req)
        resp = slot.get()
        if resp is None:
            raise PluginError("unavailable", self.broken or "the host stream closed", retryable=True)
        return resp


class Broker(grpc_broker_pb2_grpc.GRPCBrokerServicer):
    """go-plugin's broker: the engine announces where it serves Host (a
    ConnInfo per service id) on the stream it opens at start."""

    def __init__(self):
        self.cond, self.conns = threading.Condition(), {}

    def StartStream(self, request_iterator, context):
        for info in request_iterator:
            if info.HasField("knock"):
                continue  # multiplexing only; tokenflow does not turn it on
            with self.cond:
                self.conns[info.service_id] = info
                self.cond.notify_all()
        return
        yield  # a response stream that sends nothing

    def target(self, service_id, timeout=10):
        with self.cond:
            if not self.cond.wait_for(lambda: service_id in self.conns, timeout):
                raise PluginError("internal", "the engine announced no host service %d within %ds" % (service_id, timeout))
            info = self.conns[service_id]
        return ("unix:" if info.network == "unix" else "") + info.address


class Servicer(pb_grpc.PluginServicer):
    def __init__(self, plugin, broker, creds):
        self.plugin, self.broker, self.creds = plugin, broker, creds
        self.ops = {op.name: op for op in plugin.ops}
        self.hosts, self.lock = {}, threading.Lock()

    def host(self, service_id):
        with self.lock:
            if service_id not in self.hosts:
                self.hosts[service_id] = HostClient(self.broker.target(service_id), self.creds())
            return self.hosts[service_id]

    def Describe(self, request, context):
        p = self.plugin
        return pb.DescribeResponse(schema=pb.Schema(
            protocol_version=PROTOCOL_VERSION, name=p.name, version=p.version, doc=p.doc,
            connection=[f.proto() for f in p.connection], ops=[op.proto() for op in p.ops]))

    def Call(self, request, context):
        op = self.ops.get(request.op)
        if op is None:
            return pb.CallResponse(error=PluginError("invalid_argument", "unknown op %r" % request.op).proto())
        if request.mode == pb.MODE_RECONCILE:
            # No op here declares reconcilable; answer so the engine asks the operator.
            return pb.CallResponse(error=PluginError("internal", "%s cannot tell whether an earlier call took effect" % op.name).proto())
        try:
            call = Call(self.host(request.host_broker_id), request)
            check_args(op, call.args)
            result = op.handler(call)
        except Held:
            return pb.CallResponse(held=True)
        except PluginError as e:
            return pb.CallResponse(error=e.proto())
        except Exception as e:  # a bug in the plugin: report it, never crash the process
            return pb.CallResponse(error=PluginError("internal", "%s: %s: %s" % (op.name, type(e).__name__, e)).proto())
        return pb.CallResponse(result_json=json.dumps(result).encode())

    def CloseConnection(self, request, context):
        return pb.CloseConnectionResponse()  # this plugin keeps no sessions


class Controller(grpc_controller_pb2_grpc.GRPCControllerServicer):
    def __init__(self):
        self.server = None

    def Shutdown(self, request, context):
        threading.Thread(target=lambda: self.server.stop(1), daemon=True).start()
        return grpc_controller_pb2.Empty()


class Stdio(grpc_stdio_pb2_grpc.GRPCStdioServicer):
    """go-plugin copies a plugin's stdout and stderr over this stream; this
    plugin writes logs to stderr directly, so the stream stays empty."""

    def StreamStdio(self, request, context):
        done = threading.Event()
        context.add_callback(done.set)
        done.wait()
        return
        yield


class Health(health_pb2_grpc.HealthServicer):
    def Check(self, request, context):
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


def make_cert():
    """A self-signed certificate for AutoMTLS, as go-plugin's own: valid for
    "localhost", usable as a CA, for server and client authentication."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30)).not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_agreement=True,
                                         key_cert_sign=True, content_commitment=False, data_encipherment=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return cert, cert.public_bytes(serialization.Encoding.PEM), key_pem


def serve(plugin):
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write("This binary is a plugin for tokenflow. It is not meant to be run directly:\n"
                         "put it where tokenflow looks for plugins (see `tokenflow plugins`).\n")
        sys.exit(1)
    # AutoMTLS: the engine passes its certificate; the plugin serves TLS with
    # its own, requires the engine's as client certificate, and prints its own
    # (base64 DER, no padding) as the handshake's sixth field.
    client_pem = os.environ.get("PLUGIN_CLIENT_CERT", "").encode()
    if not client_pem:
        sys.stderr.write("PLUGIN_CLIENT_CERT is not set: tokenflow starts plugins with AutoMTLS\n")
        sys.exit(1)
    cert, cert_pem, key_pem = make_cert()
    server_creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=client_pem,
                                               require_client_auth=True)

    def host_creds():
        return grpc.ssl_channel_credentials(root_certificates=client_pem, private_key=key_pem,
                                            certificate_chain=cert_pem)

    broker = Broker()
    controller = Controller()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    controller.server = server
    pb_grpc.add_PluginServicer_to_server(Servicer(plugin, broker, host_creds), server)
    grpc_broker_pb2_grpc.add_GRPCBrokerServicer_to_server(broker, server)
    grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server(controller, server)
    grpc_stdio_pb2_grpc.add_GRPCStdioServicer_to_server(Stdio(), server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    port = server.add_secure_port("127.0.0.1:0", server_creds)
    server.start()
    der = cert.public_bytes(serialization.Encoding.DER)
    cert_field = base64.b64encode(der).decode().rstrip("=")
    sys.stdout.write("%d|%d|tcp|127.0.0.1:%d|grpc|%s\n" % (CORE_PROTOCOL_VERSION, PROTOCOL_VERSION, port, cert_field))
    sys.stdout.flush()
    server.wait_for_termination()
