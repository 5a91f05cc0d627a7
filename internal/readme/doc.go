// Package readme reads README.md's examples for the tests that hold them
// true: the fenced blocks of one section, as a user would copy them. It is
// imported by tests only, reads the file it is given and owns nothing.
package readme
