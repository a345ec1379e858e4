"""Write a HyperFlex token file the way hx-api-token-manager does: an ElementTree of
hx_api_token / token(access_token, refresh_token, token_type) /
creation_time_format(human_readable_time, unix_timestamp_time) / source_module, saved with
ElementTree.write(path) and its defaults (us-ascii, no declaration, no whitespace).
vendors.md section 1 describes the layout. Values come from a JSON object on stdin instead of a
login and the clock, so tests can compare tokenflow's encoder with ElementTree byte for byte:

    python3 python_token_file.py OUT.xml < fields.json

fields.json holds access_token, refresh_token, token_type, created_at (a Unix time) and
source_module. python_token_file.xml beside this script was written from
python_token_file.json.
"""
import datetime
import json
import sys
from xml.etree import ElementTree

HUMAN = "%A, %B %d, %Y at %I:%M:%S %p UTC"

values = json.load(sys.stdin)
when = datetime.datetime.fromtimestamp(values["created_at"], datetime.timezone.utc)

root = ElementTree.Element("hx_api_token")
pair = ElementTree.SubElement(root, "token")
for parent, name, text in [
    (pair, "access_token", values["access_token"]),
    (pair, "refresh_token", values["refresh_token"]),
    (pair, "token_type", values["token_type"]),
]:
    ElementTree.SubElement(parent, name).text = text
times = ElementTree.SubElement(root, "creation_time_format")
ElementTree.SubElement(times, "human_readable_time").text = when.strftime(HUMAN)
# The tool derives this from a naive utcnow(), which is the true Unix time only where the local
# zone is UTC; the fixture holds the true value.
ElementTree.SubElement(times, "unix_timestamp_time").text = str(int(values["created_at"]))
ElementTree.SubElement(root, "source_module").text = values["source_module"]
ElementTree.ElementTree(root).write(sys.argv[1])
