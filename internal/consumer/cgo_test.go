//go:build cgo

package main

const cgoBuild = true
