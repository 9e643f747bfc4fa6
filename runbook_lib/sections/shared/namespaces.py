"""The XML namespaces several section modules read files with: carbon.xml's."""

from __future__ import annotations

CARBON_NS = {"c": "http://wso2.org/projects/carbon/carbon.xml"}
