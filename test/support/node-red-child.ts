// A real Node-RED in a child process, with this package loadable from its user directory (a
// symbolic link in <userDir>/node_modules/@smsflow/node-red-exotel, as `npm install` would put it),
// started, killed with SIGKILL and started again on the same user directory and store file. It runs
// the build (dist/): run `npm run build` first. One launcher serves the drills and the benchmarks:
// node-red-launcher.ts.
export { NodeRedChild, RED_JS, freePort, type LaunchOptions as NodeRedChildOptions } from './node-red-launcher';
