#include "app/preflight.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <thread>

#include "adapters/posix/posix.h"
#include "version.h"

namespace rankwrap::app {
namespace {

using preflight::Check;

std::string MiB(std::uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Endpoint(const PreflightInputs& in) { return in.master_addr + ":" + std::to_string(in.master_port); }

Check Master(const PreflightInputs& in, const posix::PreflightProbe& probe) {
  if (in.master_port == 0) {
    return {"master", true, "not tested: a standalone world picks its port on this host when the ranks start", ""};
  }
  const posix::ConnectResult r = probe.Connect(in.master_addr, in.master_port, in.connect_timeout);
  // No address, no route: "over" only when the kernel named an interface or a connect was tried.
  const std::string via = !r.interface.empty() ? " over interface " + r.interface
                          : r.peer.empty()     ? std::string()
                                               : " over an interface rankwrap could not name";
  const std::string from = r.local_address.empty() ? "" : " (from " + r.local_address + ")";
  const std::string peer = r.peer.empty() || r.peer == in.master_addr ? "" : " (" + r.peer + ")";
  if (r.ok) return {"master", true, "connected to " + Endpoint(in) + peer + via + from, ""};
  Check c{"master", false,
          "cannot connect to MASTER_ADDR:MASTER_PORT " + Endpoint(in) + peer + via + from + ": " + r.error, ""};
  if (r.error.starts_with("cannot resolve")) {
    c.fix = "give a MASTER_ADDR every node resolves, or its address (--master-addr)";
  } else if (r.error.starts_with("no answer")) {
    c.fix =
        "open MASTER_PORT between the nodes, or make the job use a reachable interface "
        "(NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME)";
  } else {
    c.fix =
        "nothing listens there: check that MASTER_ADDR is rank 0's host and that every node uses the same "
        "MASTER_PORT (--master-port), or leave this node out";
  }
  return c;
}

Check Gpu(const std::string& bus_id, const posix::PreflightProbe& probe) {
  const std::string dir = "/sys/bus/pci/devices/" + Lower(bus_id);
  Check c{"gpu " + bus_id, false, "", ""};
  if (!probe.Exists(dir)) {
    c.detail = "the binding plan expects this GPU, but " + probe.root() + dir + " does not exist";
    c.fix =
        "the GPU fell off the bus or the plan is for another machine (--topology): drain the node "
        "(nvidia-smi -q, dmesg for Xid) or leave it out";
    return c;
  }
  const auto driver = probe.LinkName(dir + "/driver");
  if (!driver) {
    c.detail = "PCI device present, but no kernel driver is bound to it (" + probe.root() + dir + "/driver)";
    c.fix = "load the GPU driver (modprobe nvidia / amdgpu) or leave the node out";
    return c;
  }
  c.ok = true;
  c.detail = "PCI device present, driver " + *driver;
  return c;
}

Check Nic(const std::string& dev, const posix::PreflightProbe& probe) {
  const std::string dir = "/sys/class/infiniband/" + dev + "/ports";
  Check c{"nic " + dev, false, "", ""};
  const std::vector<std::string> ports = probe.List(dir);
  if (ports.empty()) {
    c.detail = "the binding plan uses this RDMA device, but " + probe.root() + dir + " lists no port";
    c.fix = "load the RDMA driver (ibv_devinfo should list " + dev + ") or leave the node out";
    return c;
  }
  std::string states;
  for (const std::string& port : ports) {
    const std::string state = probe.Read(dir + "/" + port + "/state").value_or("unreadable");
    states += (states.empty() ? "" : ", ") + ("port " + port + ": " + state);
    c.ok = c.ok || state.find("ACTIVE") != std::string::npos;
  }
  c.detail = states;
  if (!c.ok)
    c.fix = "no port is ACTIVE: check the cable and the subnet manager (ibstat " + dev + "), or leave the node out";
  return c;
}

Check Shm(const PreflightInputs& in, const posix::PreflightProbe& probe) {
  auto free = probe.FreeBytes(in.shm_path);
  if (!free) return {"shm", false, free.error().what + ": " + free.error().why, free.error().hint};
  const std::string detail = in.shm_path + ": " + MiB(*free) + " free, at least " + MiB(in.shm_min) + " wanted";
  if (*free >= in.shm_min) return {"shm", true, detail, ""};
  return {"shm", false, detail + " (NCCL's shared-memory buffers live there)",
          "give the job a larger " + in.shm_path +
              " (containers: --shm-size=8g or --ipc=host; or remove stale "
              "files there)"};
}

Check Memlock(const PreflightInputs& in, const posix::PreflightProbe& probe) {
  if (in.rdma_nics.empty()) return {"memlock", true, "not needed: the plan uses no RDMA NIC", ""};
  const auto limit = probe.MemlockLimit();
  if (!limit) return {"memlock", true, "RLIMIT_MEMLOCK unlimited", ""};
  return {"memlock", false,
          "RLIMIT_MEMLOCK is " + std::to_string(*limit >> 10) +
              " KiB: RDMA pins NCCL's buffers in memory, so the plan's RDMA NICs need it unlimited",
          "ulimit -l unlimited before rankwrap (Slurm: PropagateResourceLimits or memlock unlimited in "
          "/etc/security/limits.d on the nodes)"};
}

Check Command(const PreflightInputs& in, const posix::PreflightProbe& probe) {
  auto run = probe.Shell(in.command, in.command_timeout);
  if (!run) {
    return {"preflight-cmd", false, "'" + in.command + "': " + run.error().what + ": " + run.error().why,
            "make the command finish within " + std::to_string(static_cast<int>(in.command_timeout)) + " s"};
  }
  std::string out = run->output;
  if (out.size() > kCommandOutputMax) out = "..." + out.substr(out.size() - kCommandOutputMax);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::replace(out.begin(), out.end(), '\n', '|');
  const std::string detail =
      "'" + in.command + "' exited with " + std::to_string(run->exit_code) + (out.empty() ? ", no output" : ": " + out);
  if (run->exit_code == 0) return {"preflight-cmd", true, detail, ""};
  return {"preflight-cmd", false, detail,
          "the command's output says what this node lacks: fix it, or leave the node out"};
}

}  // namespace

std::string Shape(const Prepared& p) {
  std::set<std::string> nics;
  for (const auto& line : p.binding.plan.ranks) nics.insert(line.nics.begin(), line.nics.end());
  return "gpus=" + std::to_string(p.binding.topo.gpus.size()) + " nics=" + std::to_string(nics.size()) +
         " local-ranks=" + std::to_string(p.contract.job.local_world_size);
}

PreflightInputs InputsFor(const Config& c, const Prepared& p, const std::string& host) {
  PreflightInputs in;
  in.node = static_cast<std::uint32_t>(p.contract.job.node_rank);
  in.host = host;
  in.version = RANKWRAP_VERSION;
  in.shape = Shape(p);
  in.master_addr = p.contract.master_addr;
  in.master_port = p.contract.master_port;
  in.master_node = p.contract.job.node_rank == 0;
  if (p.contract.job.num_nodes > 1) in.listen_window = in.connect_timeout;
  std::set<unsigned> gpus;
  std::set<std::string> nics;
  for (const auto& line : p.binding.plan.ranks) {
    gpus.insert(line.gpus.begin(), line.gpus.end());
    nics.insert(line.nics.begin(), line.nics.end());
  }
  for (unsigned g : gpus) {
    if (g < p.binding.topo.gpus.size()) in.gpu_bus_ids.push_back(p.binding.topo.gpus[g].bus_id);
  }
  for (const auto& nic : p.binding.topo.nics) {
    if (nic.infiniband && nics.count(nic.name)) in.rdma_nics.push_back(nic.name);
  }
  in.command = c.preflight.command;
  return in;
}

namespace {

Check HeldPortCheck(std::uint16_t port, const std::string& why) {
  return Check{"master-port", false,
               "rank 0 runs here, but MASTER_PORT " + std::to_string(port) + " cannot be held: " + why,
               "pick a free port (--master-port) or end the process that has it (ss -ltnp)"};
}

}  // namespace

preflight::NodeReport CheckNode(const PreflightInputs& in, const posix::PreflightProbe& probe) {
  preflight::NodeReport r{in.node, in.host, in.version, in.shape, {}};
  r.checks.push_back(Master(in, probe));
  for (const auto& bus : in.gpu_bus_ids) r.checks.push_back(Gpu(bus, probe));
  for (const auto& dev : in.rdma_nics) r.checks.push_back(Nic(dev, probe));
  r.checks.push_back(Shm(in, probe));
  r.checks.push_back(Memlock(in, probe));
  if (!in.command.empty()) r.checks.push_back(Command(in, probe));
  return r;
}

preflight::NodeReport CheckNode(const PreflightInputs& in) { return CheckNode(in, posix::PreflightProbe()); }

preflight::NodeReport CheckAfterRendezvous(PreflightInputs in, const plane::Master& m, const std::string& port_problem,
                                           const posix::PreflightProbe& probe) {
  in.master_addr = m.host;
  in.master_port = m.port;
  in.master_node = false;  // its keeper holds the port already
  in.listen_window = 0;
  preflight::NodeReport r = CheckNode(in, probe);
  if (!port_problem.empty()) r.checks.insert(r.checks.begin(), HeldPortCheck(m.port, port_problem));
  return r;
}

Status RunPreflightRound(Plane& plane, const Joined& joined, const PreflightRound& round) {
  std::optional<std::string> report;
  if (round.check) report = preflight::Encode(round.check(*joined.master, joined.port_problem));
  Status verdict = plane.Preflight(report);
  if (std::string table = plane.TakePreflightTable(); !table.empty() && round.print) round.print(table);
  return verdict;
}

preflight::NodeReport CheckThisNode(const PreflightInputs& in, const posix::PreflightProbe& probe) {
  if (!in.master_node || in.master_port == 0) return CheckNode(in, probe);
  const auto start = std::chrono::steady_clock::now();
  posix::HeldPort held;
  auto bound = held.Open(in.master_port);
  Status listening = bound ? held.Listen() : Status(bound.error());
  preflight::NodeReport r = CheckNode(in, probe);
  if (!listening) {
    r.checks.insert(r.checks.begin(), HeldPortCheck(in.master_port, listening.error().why));
    return r;
  }
  // The other nodes may start later than this one: answer them for a while.
  std::this_thread::sleep_until(start + std::chrono::duration<double>(in.listen_window));
  return r;
}

}  // namespace rankwrap::app
