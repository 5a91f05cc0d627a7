// Package leaktest finds goroutines a package's tests left running, for
// the TestMain of packages that start goroutines ("no goroutine outlives
// its owner"). It is imported by tests only, owns nothing on disk and
// starts nothing.
package leaktest
