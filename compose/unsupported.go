package compose

import (
	"sort"
)

// Unsupported lists compose fields set in the stack that cutover does not
// apply to containers yet, as "services.NAME.FIELD". Deploy reports them as
// warnings rather than silently running something else than the file says.
func (s *Stack) Unsupported() []string {
	var out []string
	for _, name := range s.ServiceNames() {
		svc := s.Project.Services[name]
		set := map[string]bool{
			"secrets":                    len(svc.Secrets) > 0,
			"configs":                    len(svc.Configs) > 0,
			"devices":                    len(svc.Devices) > 0,
			"ulimits":                    len(svc.Ulimits) > 0,
			"pid":                        svc.Pid != "",
			"ipc":                        svc.Ipc != "",
			"cgroup_parent":              svc.CgroupParent != "",
			"gpus":                       len(svc.Gpus) > 0,
			"links":                      len(svc.Links) > 0,
			"external_links":             len(svc.ExternalLinks) > 0,
			"volumes_from":               len(svc.VolumesFrom) > 0,
			"mac_address":                svc.MacAddress != "",
			"shm_size":                   svc.ShmSize != 0,
			"cpu_shares":                 svc.CPUShares != 0,
			"cpuset":                     svc.CPUSet != "",
			"mem_reservation":            svc.MemReservation != 0,
			"memswap_limit":              svc.MemSwapLimit != 0,
			"oom_score_adj":              svc.OomScoreAdj != 0,
			"pids_limit":                 svc.PidsLimit != 0,
			"group_add":                  len(svc.GroupAdd) > 0,
			"dns_search":                 len(svc.DNSSearch) > 0,
			"dns_opt":                    len(svc.DNSOpts) > 0,
			"domainname":                 svc.DomainName != "",
			"userns_mode":                svc.UserNSMode != "",
			"runtime":                    svc.Runtime != "",
			"platform":                   svc.Platform != "",
			"storage_opt":                len(svc.StorageOpt) > 0,
			"post_start":                 len(svc.PostStart) > 0,
			"pre_stop":                   len(svc.PreStop) > 0,
			"healthcheck.start_interval": svc.HealthCheck != nil && svc.HealthCheck.StartInterval != nil,
		}
		var fields []string
		for field, isSet := range set {
			if isSet {
				fields = append(fields, field)
			}
		}
		sort.Strings(fields)
		for _, f := range fields {
			out = append(out, "services."+name+"."+f)
		}
	}
	return out
}
