package lb

import (
	"bufio"
	"io"
	"sync"
)

// Buffer sizes: a client connection's read and write buffers (as Go's
// HTTP server's), and the buffer that streams a body through.
const (
	clientBufferSize = 4 << 10
	copyBufferSize   = 32 << 10
)

// bufferPool recycles the proxy's buffers, so that an idle client
// connection holds none of the copy buffers and a busy proxy allocates few.
type bufferPool struct {
	copies, readers, writers sync.Pool
}

func newBufferPool() *bufferPool { return &bufferPool{} }

// get returns a copy buffer of copyBufferSize.
func (b *bufferPool) get() *[]byte {
	if v, ok := b.copies.Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, copyBufferSize)
	return &buf
}

func (b *bufferPool) put(buf *[]byte) { b.copies.Put(buf) }

func (b *bufferPool) getReader(r io.Reader) *bufio.Reader {
	if br, ok := b.readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, clientBufferSize)
}

func (b *bufferPool) putReader(br *bufio.Reader) {
	br.Reset(nil)
	b.readers.Put(br)
}

func (b *bufferPool) getWriter(w io.Writer) *bufio.Writer {
	if bw, ok := b.writers.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, clientBufferSize)
}

func (b *bufferPool) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	b.writers.Put(bw)
}
