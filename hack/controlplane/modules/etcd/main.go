// Command etcd runs go.etcd.io/etcd/server/v3/etcdmain, as upstream's etcd binary does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
