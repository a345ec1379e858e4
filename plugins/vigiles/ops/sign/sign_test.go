package sign_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenflow/tokenflow/plugins/vigiles/ops/sign"
)

// The expected messages, signatures and wire forms were computed once with
// Python 3.11, using timesys-api-toolkit's own algorithm (core/llapi.py:
// _make_msg, _create_hmac and, for the wire, urlencode(sorted(data.items()),
// doseq=True)), and are hard-coded here. email is user@example.com in every
// case, as in the toolkit's README dry-run example.
var vectors = []struct {
	name, method, path, key string
	params                  url.Values
	msg, sig, wire          string
}{
	{name: "seed heartbeat", method: "POST", path: "/api/v1/heartbeat", key: "0123456789abcdef",
		params: url.Values{},
		msg:    "POST/api/v1/heartbeatemail=user@example.com",
		sig:    "MEiUOfoRUR4svz2NZ2it+B9qrtFfPHPh/svm2IE05qE=",
		wire:   "email=user%40example.com"},
	{name: "folder query (vendors.md example)", method: "GET", path: "/api/v1/vigiles/manifests", key: "0123456789abcdef",
		params: url.Values{"folder_token": {"X"}},
		msg:    "GET/api/v1/vigiles/manifestsemail=user@example.com&folder_token=X",
		sig:    "mSVYSra4Sa1nzz7BgahtxiJcAMe6cQPHxBxYQ7aF4JU=",
		wire:   "email=user%40example.com&folder_token=X"},
	{name: "repeated keys sorted in message only", method: "GET", path: "/api/v1/vigiles/manifests/abc/reports/latest", key: "0123456789abcdef",
		params: url.Values{"filtered": {"False"}, "with_field": {"references", "assigner", "description"}},
		msg:    "GET/api/v1/vigiles/manifests/abc/reports/latestemail=user@example.com&filtered=False&with_field=assigner&with_field=description&with_field=references",
		sig:    "c8UoK3vFDjQHuumoeLnTrAs7OFMieN3uQFomhkivGOI=",
		wire:   "email=user%40example.com&filtered=False&with_field=references&with_field=assigner&with_field=description"},
	{name: "spaces plus ampersand equals", method: "POST", path: "/api/v1/vigiles/products", key: "0123456789abcdef",
		params: url.Values{"name": {"My Product"}, "desc": {"a + b & c = d"}},
		msg:    "POST/api/v1/vigiles/productsdesc=a + b & c = d&email=user@example.com&name=My Product",
		sig:    "pYMM9yZhTvTBo87hUr+VKrExkbsI9j95avSu8qJZDzc=",
		wire:   "desc=a+%2B+b+%26+c+%3D+d&email=user%40example.com&name=My+Product"},
	{name: "empty value and booleans", method: "GET", path: "/api/v1/vigiles/cves", key: "0123456789abcdef",
		params: url.Values{"product": {"openssl"}, "version": {""}, "ids_only": {"False"}},
		msg:    "GET/api/v1/vigiles/cvesemail=user@example.com&ids_only=False&product=openssl&version=",
		sig:    "4GmKfIBEZaC2hWF3jBL//Fuao8F1tyLOKmZdEJXEL+c=",
		wire:   "email=user%40example.com&ids_only=False&product=openssl&version="},
	{name: "non-ASCII and JSON", method: "POST", path: "/api/v1/vigiles/manifests", key: "0123456789abcdef",
		params: url.Values{"manifest": {"{\"packages\": {\"zlib\": {\"version\": \"1.2.11\"}}}"}, "manifest_name": {"Büro-Image ☃ 日本"}, "upload_only": {"True"}, "filter_results": {"False"}},
		msg:    "POST/api/v1/vigiles/manifestsemail=user@example.com&filter_results=False&manifest={\"packages\": {\"zlib\": {\"version\": \"1.2.11\"}}}&manifest_name=Büro-Image ☃ 日本&upload_only=True",
		sig:    "ZZkqNadBsPICluszWehk5qd6iFJamQ6qpISGy9n5jYA=",
		wire:   "email=user%40example.com&filter_results=False&manifest=%7B%22packages%22%3A+%7B%22zlib%22%3A+%7B%22version%22%3A+%221.2.11%22%7D%7D%7D&manifest_name=B%C3%BCro-Image+%E2%98%83+%E6%97%A5%E6%9C%AC&upload_only=True"},
	{name: "DELETE in query", method: "DELETE", path: "/api/v1/vigiles/manifests/m1", key: "0123456789abcdef",
		params: url.Values{"confirmed": {"True"}},
		msg:    "DELETE/api/v1/vigiles/manifests/m1confirmed=True&email=user@example.com",
		sig:    "wTWwaPMGwl21JK8PW8Tnb+594/9cOOkpvzd3rWAmNmI=",
		wire:   "confirmed=True&email=user%40example.com"},
	{name: "repeated values with escapes", method: "GET", path: "/api/v1/vigiles/products", key: "0123456789abcdef",
		params: url.Values{"k": {"b", "a", "a b", "a+b", "%41"}},
		msg:    "GET/api/v1/vigiles/productsemail=user@example.com&k=%41&k=a&k=a b&k=a+b&k=b",
		sig:    "jgZ7l8nw6L7rNYGI0MgW7O5n6MM17J3fw0Zh5D0rn58=",
		wire:   "email=user%40example.com&k=b&k=a&k=a+b&k=a%2Bb&k=%2541"},
	{name: "non-ASCII key", method: "GET", path: "/api/v1/vigiles/products", key: "ключ ☃ key",
		params: url.Values{},
		msg:    "GET/api/v1/vigiles/productsemail=user@example.com",
		sig:    "YmhVgtDsDwfvX4sr1PrQ7LPMBzzNuGYZC49Jk8PPAVE=",
		wire:   "email=user%40example.com"},
	{name: "percent and control characters", method: "GET", path: "/api/v1/vigiles/products", key: "k",
		params: url.Values{"x": {"100%"}, "y": {"a=b&c=d"}, "z": {"line1\nline2\ttab"}},
		msg:    "GET/api/v1/vigiles/productsemail=user@example.com&x=100%&y=a=b&c=d&z=line1\nline2\ttab",
		sig:    "pFEkJCQLQeoWvlgrrgDVvEC+lVjpgeRSS8JVcpcobuY=",
		wire:   "email=user%40example.com&x=100%25&y=a%3Db%26c%3Dd&z=line1%0Aline2%09tab"},
	{name: "empty repeated value", method: "GET", path: "/api/v1/vigiles/products", key: "0123456789abcdef",
		params: url.Values{"f": {"", "", " "}},
		msg:    "GET/api/v1/vigiles/productsemail=user@example.com&f=&f=&f= ",
		sig:    "FVOGk1v8wMkvUEvsz+T28qyzG+HHR+9VWNzPdJAHWpo=",
		wire:   "email=user%40example.com&f=&f=&f=+"},
}

const email = "user@example.com"

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			params := url.Values{}
			for k, vs := range v.params {
				params[k] = append([]string(nil), vs...)
			}
			params.Set("email", email)
			if got := sign.Message(v.method, v.path, params); got != v.msg {
				t.Errorf("Message:\n got %q\nwant %q", got, v.msg)
			}
			if got := sign.Signature(v.key, v.msg); got != v.sig {
				t.Errorf("Signature = %s, want %s", got, v.sig)
			}

			req, err := sign.NewRequest(context.Background(), v.method, "https://vigiles.example.com/", v.path, email, v.key, v.params)
			if err != nil {
				t.Fatal(err)
			}
			if req.Message != v.msg {
				t.Errorf("NewRequest message:\n got %q\nwant %q", req.Message, v.msg)
			}
			if got := req.Header.Get("X-Auth-Signature"); got != v.sig {
				t.Errorf("X-Auth-Signature = %s, want %s", got, v.sig)
			}
			if req.URL.Path != v.path || req.URL.Host != "vigiles.example.com" {
				t.Errorf("URL = %s, want https://vigiles.example.com%s", req.URL, v.path)
			}
			var body []byte
			if req.Body != nil {
				body, _ = io.ReadAll(req.Body)
			}
			if v.method == http.MethodPost {
				if string(body) != v.wire || req.URL.RawQuery != "" {
					t.Errorf("POST body = %q, query %q; want body %q and no query", body, req.URL.RawQuery, v.wire)
				}
				if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
					t.Errorf("Content-Type = %q", ct)
				}
			} else if req.URL.RawQuery != v.wire || len(body) != 0 {
				t.Errorf("%s query = %q, body %q; want query %q and no body", v.method, req.URL.RawQuery, body, v.wire)
			}
		})
	}
}

func TestSignatureIsStandardBase64WithPadding(t *testing.T) {
	s := sign.Signature("k", "m")
	if len(s) != 44 || !strings.HasSuffix(s, "=") || strings.ContainsAny(s, "-_") {
		t.Fatalf("signature %q is not 44 characters of padded standard base64", s)
	}
}

func TestNewRequestOwnsEmailAndCopiesParams(t *testing.T) {
	params := url.Values{"email": {"someone@else.example"}, "x": {"b", "a"}}
	req, err := sign.NewRequest(context.Background(), "get", "http://127.0.0.1:1/base", "/api/v1/vigiles/products", email, "k", params)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodGet {
		t.Errorf("method = %s, want GET", req.Method)
	}
	if want := "GET/api/v1/vigiles/productsemail=user@example.com&x=a&x=b"; req.Message != want {
		t.Errorf("message = %q, want %q", req.Message, want)
	}
	if want := "email=user%40example.com&x=b&x=a"; req.URL.RawQuery != want {
		t.Errorf("query = %q, want %q (values in their given order)", req.URL.RawQuery, want)
	}
	if req.URL.Path != "/base/api/v1/vigiles/products" {
		t.Errorf("path = %q: the base URL's path is kept, the message holds only the resource", req.URL.Path)
	}
	if params.Get("email") != "someone@else.example" || params["x"][0] != "b" {
		t.Error("NewRequest modified the caller's params")
	}
}

func TestPathIsEscapedOnTheWireButRawInTheMessage(t *testing.T) {
	req, err := sign.NewRequest(context.Background(), "GET", "https://h", "/api/v1/vigiles/manifests/a b", email, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.URL.String(), "/manifests/a%20b?") {
		t.Errorf("URL = %s, want the path escaped", req.URL)
	}
	if !strings.HasPrefix(req.Message, "GET/api/v1/vigiles/manifests/a bemail=") {
		t.Errorf("message = %q, want the raw path", req.Message)
	}
}

func TestRejectsWhatTheServerCannotReadBack(t *testing.T) {
	for name, params := range map[string]url.Values{
		"invalid UTF-8 value": {"name": {"ok", "bad\xff"}},
		"invalid UTF-8 name":  {"n\xffme": {"v"}},
		"empty name":          {"": {"v"}},
	} {
		_, err := sign.NewRequest(context.Background(), "POST", "https://h", "/p", email, "k", params)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "bad\xff") {
			t.Errorf("%s: error %q prints the value", name, err)
		}
	}
}

func TestBool(t *testing.T) {
	if sign.Bool(true) != "True" || sign.Bool(false) != "False" {
		t.Fatal("booleans must be Python's True/False")
	}
}
