"""The load balancer's parts (01, and 02's TLS virtual hosts): nginx_conf
(the virtual hosts nginx should serve), nginx_site (writing and reloading
them) and elb (the WSO2 ELB's loadbalancer.conf and axis2.xml)."""
