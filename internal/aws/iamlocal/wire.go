package iamlocal

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
)

const (
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// APIError is an IAM error as the Query protocol carries it: a code the SDK
// maps to a typed error, a message, and the HTTP status IAM uses for it.
type APIError struct {
	Code    string
	Message string
	Status  int
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// statusOf gives each IAM error code the HTTP status that IAM answers with.
var statusOf = map[string]int{
	"EntityAlreadyExists":       http.StatusConflict,
	"LimitExceeded":             http.StatusConflict,
	"ConcurrentModification":    http.StatusConflict,
	"DeleteConflict":            http.StatusConflict,
	"NoSuchEntity":              http.StatusNotFound,
	"InvalidInput":              http.StatusBadRequest,
	"ValidationError":           http.StatusBadRequest,
	"Throttling":                http.StatusBadRequest,
	"InvalidAction":             http.StatusBadRequest,
	"MissingAction":             http.StatusBadRequest,
	"AccessDenied":              http.StatusForbidden,
	"InvalidAuthenticationCode": http.StatusForbidden,
	"ServiceFailure":            http.StatusInternalServerError,
}

// Errorf builds an [APIError] with IAM's status for code.
func Errorf(code, format string, args ...any) *APIError {
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

func writeError(w http.ResponseWriter, e *APIError, requestID string) {
	kind := "Sender"
	if e.Status >= 500 {
		kind = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + iamNS + `"><Error><Type>` + kind + `</Type><Code>`)
	xml.EscapeText(&b, []byte(e.Code))
	b.WriteString(`</Code><Message>`)
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString(`</Message></Error><RequestId>` + requestID + `</RequestId></ErrorResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(e.Status)
	w.Write(b.Bytes())
}

// writeResult writes <ActionResponse><ActionResult>…</ActionResult> with
// ResponseMetadata, as IAM and STS do; result may be nil.
func writeResult(w http.ResponseWriter, action, ns string, result any, requestID string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<` + action + `Response xmlns="` + ns + `">`)
	if result != nil {
		enc := xml.NewEncoder(&b)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeError(w, Errorf("ServiceFailure", "encoding response: %v", err), requestID)
			return
		}
		enc.Flush()
	}
	b.WriteString(`<ResponseMetadata><RequestId>` + requestID + `</RequestId></ResponseMetadata></` + action + `Response>`)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", requestID)
	w.Write(b.Bytes())
}

type xmlTag struct {
	Key   string
	Value string
}

type xmlTags struct {
	Members []xmlTag `xml:"member"`
}

type xmlUser struct {
	Path       string
	UserName   string
	UserId     string
	Arn        string
	CreateDate string
}

type xmlDevice struct {
	SerialNumber     string
	Base32StringSeed string   `xml:",omitempty"`
	QRCodePNG        string   `xml:",omitempty"`
	User             *xmlUser `xml:",omitempty"`
	EnableDate       string   `xml:",omitempty"`
	Tags             *xmlTags `xml:",omitempty"`
}

type createResult struct {
	VirtualMFADevice xmlDevice
}

type listResult struct {
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
	VirtualMFADevices struct {
		Members []xmlDevice `xml:"member"`
	}
}

type listTagsResult struct {
	Tags        xmlTags
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

type callerIdentityResult struct {
	Arn     string
	UserId  string
	Account string
}
