package pluginmgr

import (
	"fmt"
	"time"

	"github.com/tokenflow/tokenflow/engine/schema"
	pb "github.com/tokenflow/tokenflow/sdk/proto/tokenflow/plugin/v1"
)

func schemaFromProto(s *pb.Schema) (*schema.Schema, error) {
	if s == nil {
		return nil, fmt.Errorf("plugin sent no schema")
	}
	if s.ProtocolVersion != pb.ProtocolVersion {
		return nil, fmt.Errorf("plugin %s speaks protocol %d, this tokenflow speaks %d", s.Name, s.ProtocolVersion, pb.ProtocolVersion)
	}
	out := &schema.Schema{Name: s.Name, Version: s.Version, Doc: s.Doc, Connection: fieldsFromProto(s.Connection)}
	for _, op := range s.Ops {
		effect := schema.Read
		if op.Effect == pb.Effect_EFFECT_WRITE {
			effect = schema.Write
		}
		out.Ops = append(out.Ops, &schema.Op{
			Vendor: s.Name, Name: op.Name, Doc: op.Doc, Effect: effect,
			Params: fieldsFromProto(op.Params), Results: fieldsFromProto(op.Results), Reconcilable: op.Reconcilable, Get: op.Get,
		})
	}
	return out, nil
}

func fieldsFromProto(fields []*pb.Field) []schema.Field {
	out := make([]schema.Field, 0, len(fields))
	for _, f := range fields {
		out = append(out, schema.Field{
			Name: f.Name, Type: schema.Type(f.Type), Elem: schema.Type(f.Elem), Required: f.Required,
			DefaultJSON: f.DefaultJson, Secret: f.Secret || f.Type == pb.Type_TYPE_SECRET, Doc: f.Doc, Endpoint: f.Endpoint,
		})
	}
	return out
}

var errorCodeNames = map[pb.ErrorCode]string{
	pb.ErrorCode_ERROR_CODE_INVALID_ARGUMENT:  "invalid_argument",
	pb.ErrorCode_ERROR_CODE_UNAUTHENTICATED:   "unauthenticated",
	pb.ErrorCode_ERROR_CODE_PERMISSION_DENIED: "permission_denied",
	pb.ErrorCode_ERROR_CODE_NOT_FOUND:         "not_found",
	pb.ErrorCode_ERROR_CODE_CONFLICT:          "conflict",
	pb.ErrorCode_ERROR_CODE_RATE_LIMITED:      "rate_limited",
	pb.ErrorCode_ERROR_CODE_UNAVAILABLE:       "unavailable",
	pb.ErrorCode_ERROR_CODE_INTERNAL:          "internal",
}

// ErrorCodeName returns the contract's name for a wire error code.
func ErrorCodeName(c pb.ErrorCode) string {
	if n, ok := errorCodeNames[c]; ok {
		return n
	}
	return "internal"
}

func opErrorFromProto(e *pb.Error) *OpError {
	return &OpError{
		Code: ErrorCodeName(e.Code), Message: e.Message, Retryable: e.Retryable,
		RetryAfter: time.Duration(e.RetryAfterMs) * time.Millisecond, Param: e.Param,
	}
}
