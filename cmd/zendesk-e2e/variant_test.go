package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseVariants(t *testing.T) {
	vs, err := parseVariants(defaultVariants)
	require.NoError(t, err)
	require.Len(t, vs, 3)
	assert.Equal(t, "sync", vs[0].Name)
	assert.Equal(t, "queue", vs[1].Name)
	assert.Equal(t, "oauth", vs[2].Name)
	assert.True(t, vs[2].OAuth)

	vs, err = parseVariants(" queue ")
	require.NoError(t, err)
	require.Len(t, vs, 1)
	assert.Equal(t, "collector-queue.yaml.tmpl", vs[0].Template)

	vs, err = parseVariants("memory,sync")
	require.NoError(t, err)
	require.Len(t, vs, 2)
	assert.Equal(t, "memory", vs[0].Name)

	_, err = parseVariants("sync,all")
	assert.ErrorContains(t, err, `unknown variant "all" (known: sync, queue, oauth, store, memory)`)
	_, err = parseVariants("sync,sync")
	assert.ErrorContains(t, err, `"sync" is given twice`)
	_, err = parseVariants("")
	assert.ErrorContains(t, err, `unknown variant ""`)
}

// Every variant's template is in e2e/ and renders.
func TestVariantTemplatesExist(t *testing.T) {
	for _, v := range variants {
		_, err := os.Stat(filepath.Join("..", "..", "e2e", v.Template))
		assert.NoError(t, err, v.Name)
		assert.NotEmpty(t, v.Setup, v.Name)
		renderTemplate(t, v.Template, testCollectorParams())
	}
}

func TestDuplicatesPerKill(t *testing.T) {
	p := testCollectorParams()
	p.QueueConsumers, p.BatchMinSize = 1, 1000
	// sync: the one page delivered and not yet checkpointed.
	assert.Equal(t, 100, variantByName(t, "sync").duplicatesPerKill(p))
	// queue: that page, plus the batch in flight: up to 999 records
	// below min_size plus the page that reached it.
	assert.Equal(t, 100+1099, variantByName(t, "queue").duplicatesPerKill(p))
	p.QueueConsumers = 3
	assert.Equal(t, 100+3*1099, variantByName(t, "queue").duplicatesPerKill(p))
	assert.Equal(t, 100, variantByName(t, "memory").duplicatesPerKill(p))
	assert.Equal(t, 100, variantByName(t, "oauth").duplicatesPerKill(p))
}
