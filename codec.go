package session

import "encoding/json"

// Codec encodes and decodes individual session values. Each key is encoded on
// its own, so a request that changes one key writes only that key, and a
// value is decoded lazily into the type the caller asks for.
//
// A Codec must never decode into types chosen by the encoded data (as gob
// with registered interfaces, or PHP/Java serialization, do): that turns a
// forged or corrupted store record into code execution.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default Codec: encoding/json, which decodes only into the
// type the caller provides.
type JSONCodec struct{}

// Marshal encodes v as JSON.
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
